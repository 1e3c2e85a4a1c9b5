/**
 * /assets/passkeys.js: wires the pages' passkey forms (ui/passkey-form.tsx) to
 * @simplewebauthn/browser (served as /assets/webauthn.js). A form is shown only where the
 * browser has WebAuthn; its submit runs the ceremony and posts the response as `credential`.
 * On the sign-in page the same options also start conditional mediation, so the username field's
 * autofill offers the person's passkeys.
 */
export const PASSKEY_SCRIPT = `(function () {
  'use strict';
  var W = window.SimpleWebAuthnBrowser;
  if (!W || !W.browserSupportsWebAuthn()) return;
  document.querySelectorAll('[data-webauthn-only]').forEach(function (el) { el.hidden = false; });
  document.querySelectorAll('form[data-webauthn]').forEach(function (form) {
    var mode = form.getAttribute('data-webauthn');
    var options = JSON.parse(form.getAttribute('data-options'));
    var status = form.querySelector('.passkey-status');
    form.hidden = false;
    function send(response) {
      form.elements.credential.value = JSON.stringify(response);
      form.submit();
    }
    function fail(err) {
      if (!status) return;
      status.textContent = err && err.name === 'NotAllowedError'
        ? 'The passkey request was cancelled or timed out. Try again.'
        : 'Your passkey did not work here: ' + ((err && err.message) || String(err));
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (status) status.textContent = '';
      var ceremony = mode === 'register'
        ? W.startRegistration({ optionsJSON: options })
        : W.startAuthentication({ optionsJSON: options });
      ceremony.then(send, fail);
    });
    if (mode === 'sign-in' && W.browserSupportsWebAuthnAutofill) {
      W.browserSupportsWebAuthnAutofill().then(function (yes) {
        if (yes) W.startAuthentication({ optionsJSON: options, useBrowserAutofill: true }).then(send, function () {});
      });
    }
  });
})();
`;
