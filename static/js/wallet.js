/* the402: wallet actions through the browser wallet (EIP-1193 `window.ethereum`).
 *
 * A button with `data-siwe="<purpose>"` (login, reauth or link) runs Sign-In with Ethereum:
 * it asks the wallet for its address, asks the server for a nonce and the EIP-4361 message
 * (`data-nonce-url`), has the wallet sign the message (`personal_sign`), and posts message
 * and signature to `data-verify-url`, which answers where to go next. The server checks
 * everything; this script only carries the message. Loaded as a file: the pages' CSP allows
 * no inline script.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function toHex(text) {
    var bytes = new TextEncoder().encode(text);
    var hex = "0x";
    for (var i = 0; i < bytes.length; i++) {
      hex += bytes[i].toString(16).padStart(2, "0");
    }
    return hex;
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
      var error = new Error(data.error || "The server answered " + response.status);
      error.reauthenticateUrl = data.reauthenticate_url;
      throw error;
    }
    return data;
  }

  function say(button, text, link) {
    var status = document.getElementById(button.dataset.status);
    if (!status) {
      return;
    }
    status.textContent = text;
    if (link) {
      var anchor = document.createElement("a");
      anchor.href = link;
      anchor.textContent = " Re-authenticate now.";
      status.appendChild(anchor);
    }
  }

  async function signIn(button) {
    if (!window.ethereum || typeof window.ethereum.request !== "function") {
      say(button, "No browser wallet found: install one (MetaMask, Coinbase Wallet, Rabby) " +
        "or sign in with your email.");
      return;
    }
    button.disabled = true;
    say(button, "Waiting for your wallet…");
    try {
      var accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) {
        throw new Error("The wallet shared no account.");
      }
      var address = accounts[0];
      var issued = await postJson(button.dataset.nonceUrl, {
        address: address,
        purpose: button.dataset.siwe,
      });
      say(button, "Sign the message in your wallet…");
      var signature = await window.ethereum.request({
        method: "personal_sign",
        params: [toHex(issued.message), address],
      });
      var result = await postJson(button.dataset.verifyUrl, {
        message: issued.message,
        signature: signature,
        next: button.dataset.next || "",
      });
      say(button, "Signed in. Opening…");
      window.location.assign(result.redirect);
    } catch (error) {
      say(button, (error && error.message) || "The wallet refused.", error.reauthenticateUrl);
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-siwe]");
    if (button) {
      event.preventDefault();
      signIn(button);
    }
  });
})();
