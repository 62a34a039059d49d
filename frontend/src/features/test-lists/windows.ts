/** The window choices of the test lists: tests that ran within it are listed. */
export const LIST_WINDOWS = [
  { value: '7d', label: 'last 7 days' },
  { value: '30d', label: 'last 30 days' },
  { value: '90d', label: 'last 90 days' },
  { value: '3660d', label: 'any time' },
] as const;
