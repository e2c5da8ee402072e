// express-mfa: runs the WebAuthn ceremony of the page's button with
// @simplewebauthn/browser (served beside this file), then posts its result
// with the form. Served as a file so that the pages keep a strict CSP.
(function () {
  'use strict';
  var button = document.querySelector('[data-mfa-webauthn]');
  if (!button || !window.SimpleWebAuthnBrowser || !window.PublicKeyCredential) return;
  var form = button.form;
  var field = form.elements.namedItem(button.getAttribute('data-field'));
  var alertBox = document.getElementById('mfa-webauthn-error');
  button.hidden = false;
  button.addEventListener('click', function () {
    var options = JSON.parse(button.getAttribute('data-options'));
    var ceremony = button.getAttribute('data-mfa-webauthn') === 'create'
      ? window.SimpleWebAuthnBrowser.startRegistration({ optionsJSON: options })
      : window.SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options });
    button.disabled = true;
    ceremony.then(function (result) {
      field.value = JSON.stringify(result);
      form.submit();
    }, function () {
      button.disabled = false;
      if (alertBox) {
        alertBox.textContent = alertBox.getAttribute('data-message');
        alertBox.hidden = false;
      }
    });
  });
})();
