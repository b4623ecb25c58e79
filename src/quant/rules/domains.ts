// Operator domains the rules write.
export const MS = 'com.microsoft';
