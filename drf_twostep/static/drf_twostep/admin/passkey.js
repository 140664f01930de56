// The admin's second step with a passkey: the page's request options to
// navigator.credentials.get(), the credential's JSON into the form's "credential" field, and
// the form sent. The server checks it as login/verify/ does.
(function () {
  "use strict";
  const button = document.getElementById("twostep-passkey");
  const source = document.getElementById("twostep-passkey-options");
  if (!button || !source) return;
  const form = button.form;
  const error = document.getElementById("twostep-passkey-error");

  const decode = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64 + "===".slice((base64.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer;
  };
  const encode = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    const allow = (json.allowCredentials || []).map((c) => ({ ...c, id: decode(c.id) }));
    return { ...json, challenge: decode(json.challenge), allowCredentials: allow };
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    const r = credential.response;
    return {
      id: credential.id, rawId: encode(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: encode(r.clientDataJSON), authenticatorData: encode(r.authenticatorData),
        signature: encode(r.signature), userHandle: r.userHandle ? encode(r.userHandle) : null,
      },
    };
  }

  function fail(message) {
    error.textContent = message;
    error.className = "errornote";
    error.hidden = false;
    button.disabled = false;
  }

  button.addEventListener("click", async () => {
    if (typeof window.PublicKeyCredential !== "function") return fail(button.dataset.unsupported);
    button.disabled = true;
    error.hidden = true;
    let credential;
    try {
      const options = requestOptions(JSON.parse(source.textContent));
      credential = await navigator.credentials.get({ publicKey: options });
    } catch (exc) {
      return fail(button.dataset.cancelled);
    }
    form.elements.credential.value = JSON.stringify(credentialJSON(credential));
    form.submit();
  });
})();
