import type { z } from 'zod';

export interface InputIssue {
  path: string;
  message: string;
}

/** What zod found wrong with an input, by path; at most 20, so a huge bad input stays a small answer. */
export function describeIssues(error: z.ZodError): InputIssue[] {
  return error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}
