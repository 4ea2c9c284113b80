// The seeds' quickstart flow with the official npm `x402` v1 client:
//   fetch -> 402 -> createPaymentHeader(account, x402Version, accepts[0]) -> fetch with X-PAYMENT.
// Usage: node pay_v1.mjs <url> <private key> <json body>; prints {status, body, receipt}.
import { createPaymentHeader } from "x402/client";
import { privateKeyToAccount } from "viem/accounts";

const [url, privateKey, body] = process.argv.slice(2);
const account = privateKeyToAccount(privateKey);
const options = { method: "POST", headers: { "Content-Type": "application/json" }, body };

const first = await fetch(url, options);
if (first.status !== 402) {
  console.log(JSON.stringify({ status: first.status, body: await first.text() }));
  process.exit(0);
}
const { x402Version, accepts } = await first.json();
const payment = await createPaymentHeader(account, x402Version || 1, accepts[0]);
const paid = await fetch(url, { ...options, headers: { ...options.headers, "X-PAYMENT": payment } });
console.log(
  JSON.stringify({
    status: paid.status,
    body: await paid.json(),
    receipt: paid.headers.get("x-payment-response"),
  }),
);
