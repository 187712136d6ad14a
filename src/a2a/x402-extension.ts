/** The a2a-x402 extension v0.2 (google-agentic-commerce/a2a-x402 spec/v0.2): its URI and metadata keys; the flow is a2a/x402-flow.ts. */
export const X402_EXTENSION_URI = 'https://github.com/google-agentic-commerce/a2a-x402/blob/main/spec/v0.2';

/** The message metadata keys of the extension (spec §7). */
export const X402_META = {
  status: 'x402.payment.status',
  required: 'x402.payment.required',
  payload: 'x402.payment.payload',
  receipts: 'x402.payment.receipts',
  error: 'x402.payment.error',
} as const;
