import { describe, expect, it } from 'vitest';
import { en } from '../../src/i18n/en.js';
import { fr } from '../../src/i18n/fr.js';
import { messageHelpers, Translator } from '../../src/i18n/translator.js';

describe('Translator', () => {
  const translator = new Translator({ de: { 'challenge.title': 'Code eingeben' }, en: { 'button.verify': 'Check' } });

  it('ships English and French with the same keys', () => {
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en)) {
      const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(placeholders((fr as Record<string, string>)[key]!), key).toEqual(placeholders(text));
    }
  });

  it('negotiates the closest language: the app first, then Accept-Language by quality, English last', () => {
    expect(translator.negotiate(undefined, 'fr-CA,fr;q=0.9,en;q=0.8')).toBe('fr');
    expect(translator.negotiate(undefined, 'es;q=1, de;q=0.5, fr;q=0.7')).toBe('fr');
    expect(translator.negotiate(undefined, 'de-CH')).toBe('de');
    expect(translator.negotiate(undefined, 'es, it')).toBe('en');
    expect(translator.negotiate(undefined, undefined)).toBe('en');
    expect(translator.negotiate('de', 'fr')).toBe('de');
    expect(translator.negotiate('xx', 'fr')).toBe('fr');
    expect(translator.negotiate(undefined, '*, fr;q=0')).toBe('en');
  });

  it('falls back to English for a message a language lacks; an app overrides single messages', () => {
    expect(translator.t('de', 'challenge.title')).toBe('Code eingeben');
    expect(translator.t('de', 'button.cancel')).toBe('Cancel');
    expect(translator.t('en', 'button.verify')).toBe('Check');
    expect(translator.t('fr', 'button.verify')).toBe('Valider');
  });

  it('fills values and picks plural forms by the language rules', () => {
    expect(translator.t('en', 'notice.sent', { address: 'a@b.c' })).toBe('We sent a code to a@b.c.');
    expect(translator.plural('en', 'error.INVALID_OTP', 1, { remainingAttempts: 1 })).toBe('That code is not right. 1 try left.');
    expect(translator.plural('en', 'error.INVALID_OTP', 2, { remainingAttempts: 2 })).toBe('That code is not right. 2 tries left.');
    expect(translator.plural('fr', 'error.INVALID_OTP', 1, { remainingAttempts: 1 })).toBe('Ce code est incorrect. Il vous reste 1 essai.');
  });

  it('th escapes the message and every value, and only adds <strong>', () => {
    const { th } = messageHelpers(new Translator({ en: { 'notice.sent': 'Sent <to> {address}' } }), 'en');
    expect(th('notice.sent', { address: '<img src=x onerror=alert(1)>' })).toBe('Sent &lt;to&gt; <strong>&lt;img src=x onerror=alert(1)&gt;</strong>');
  });
});
