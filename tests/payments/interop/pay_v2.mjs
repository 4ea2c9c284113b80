// The seeds' flow with the official v2 npm clients, default settings (no spend controls):
//   wrapFetchWithPayment(fetch, client) with registerExactEvmScheme(client, { signer }).
// Usage: node pay_v2.mjs <url> <private key> <json body>; prints {status, body, receipt}.
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { privateKeyToAccount } from "viem/accounts";

const [url, privateKey, body] = process.argv.slice(2);
const client = new x402Client();
registerExactEvmScheme(client, { signer: privateKeyToAccount(privateKey) });
const fetchWithPayment = wrapFetchWithPayment(fetch, client);

const response = await fetchWithPayment(url, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body,
});
const receipt = response.headers.get("payment-response");
console.log(
  JSON.stringify({
    status: response.status,
    body: await response.json(),
    receipt: receipt ? decodePaymentResponseHeader(receipt) : null,
  }),
);
