// end-to-end checkout flow
export const steps = ['cart', 'pay', 'done'];
