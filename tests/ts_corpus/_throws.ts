// Loaded only if a type position leaks into the output as a value.
throw new Error("_throws was loaded: a type-only import survived erasure");
export const never = 1;
