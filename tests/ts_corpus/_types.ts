export interface Point { x: number; y: number }
export type Id = string;
export const value = 41;
export namespace Shapes { export const unit = 1; export interface Box { w: number } }
