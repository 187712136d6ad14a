/** The gateway's address as links should name it: PUBLIC_URL when set, else the origin the request came to. */
export const baseUrlOf = (publicUrl: string | undefined, requestUrl: string) => publicUrl?.replace(/\/$/, '') ?? new URL(requestUrl).origin;
