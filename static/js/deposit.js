/* the402: a deposit signed by the browser wallet (EIP-1193 `window.ethereum`).
 *
 * A button with `data-deposit` asks the server for the EIP-3009 authorization of the
 * amount typed in `data-amount-input` (`data-prepare-url`: the EIP-712 typed data, built
 * server-side), has the wallet sign it (`eth_signTypedData_v4`), and posts the signature
 * to `data-submit-url`, which pays `POST /v1/balance/deposit` with it (x402) and answers
 * where to go next. The server checks everything; this script only carries the signature.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  async function postJson(url, body) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
    var data = {};
    try {
      data = await response.json();
    } catch (ignored) {
      data = {};
    }
    if (!response.ok) {
      throw new Error(data.error || "The server answered " + response.status);
    }
    return data;
  }

  function say(button, text) {
    var status = document.getElementById(button.dataset.status);
    if (status) {
      status.textContent = text;
    }
  }

  async function deposit(button) {
    if (!window.ethereum || typeof window.ethereum.request !== "function") {
      say(button, "No browser wallet found: install one (MetaMask, Coinbase Wallet, Rabby).");
      return;
    }
    var input = document.getElementById(button.dataset.amountInput);
    button.disabled = true;
    say(button, "Preparing the transfer…");
    try {
      var accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
      var prepared = await postJson(button.dataset.prepareUrl, { amount: input ? input.value : "" });
      var signer = (accounts || []).find(function (a) {
        return a.toLowerCase() === prepared.address.toLowerCase();
      });
      if (!signer) {
        throw new Error("Switch your wallet to your account's address " + prepared.address + ".");
      }
      say(button, "Sign the transfer in your wallet…");
      var signature = await window.ethereum.request({
        method: "eth_signTypedData_v4",
        params: [signer, JSON.stringify(prepared.typed_data)],
      });
      say(button, "Settling on chain…");
      var result = await postJson(button.dataset.submitUrl, {
        authorization: prepared.authorization,
        signature: signature,
      });
      window.location.assign(result.redirect);
    } catch (error) {
      say(button, (error && error.message) || "The wallet refused.");
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-deposit]");
    if (button) {
      event.preventDefault();
      deposit(button);
    }
  });
})();
