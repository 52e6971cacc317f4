import { describe, expect, it } from 'vitest';
import { isAllowedExternalUrl, isAppUrl, isTrustedSender } from './navigation';

describe('isAppUrl', () => {
  it('accepts the app pages', () => {
    expect(isAppUrl('studio://app/index.html')).toBe(true);
    expect(isAppUrl('studio://app/assets/index-abc.js')).toBe(true);
  });

  it('refuses every other origin, including look-alikes', () => {
    for (const url of [
      'studio://thumbs/1',
      'studio://app.evil/index.html',
      'studio://app@evil/index.html',
      'studio://app:1/index.html',
      'https://app/index.html',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'about:blank',
      'not a url',
      '',
    ]) {
      expect(isAppUrl(url), url).toBe(false);
    }
  });
});

describe('isAllowedExternalUrl', () => {
  it('lets listed https hosts open in the browser', () => {
    expect(isAllowedExternalUrl('https://arxiv.org/abs/2111.06377')).toBe(true);
    expect(isAllowedExternalUrl('https://github.com/facebookresearch/mae')).toBe(true);
  });

  it('refuses other schemes, hosts, ports and credentials', () => {
    for (const url of [
      'http://arxiv.org/abs/1',
      'file:///bin/sh',
      'smb://host/share',
      'ms-msdt:/id',
      'https://evil.example/',
      'https://arxiv.org.evil.example/',
      'https://arxiv.org:8443/',
      'https://user@github.com/',
      'javascript:alert(1)',
      'nope',
    ]) {
      expect(isAllowedExternalUrl(url), url).toBe(false);
    }
  });
});

describe('isTrustedSender', () => {
  const webContents = { id: 1 };
  const window = { isDestroyed: () => false, webContents };
  const topFrame = { url: 'studio://app/index.html', parent: null };

  it('trusts the main window top frame on an app page', () => {
    expect(isTrustedSender({ sender: webContents, senderFrame: topFrame }, window)).toBe(true);
  });

  it('refuses other web contents, subframes, foreign pages, missing frames and closed windows', () => {
    expect(isTrustedSender({ sender: { id: 2 }, senderFrame: topFrame }, window)).toBe(false);
    expect(isTrustedSender({ sender: webContents, senderFrame: { ...topFrame, parent: topFrame } }, window)).toBe(
      false,
    );
    expect(
      isTrustedSender({ sender: webContents, senderFrame: { url: 'https://evil.example/', parent: null } }, window),
    ).toBe(false);
    expect(isTrustedSender({ sender: webContents, senderFrame: null }, window)).toBe(false);
    expect(
      isTrustedSender({ sender: webContents, senderFrame: topFrame }, { ...window, isDestroyed: () => true }),
    ).toBe(false);
    expect(isTrustedSender({ sender: webContents, senderFrame: topFrame }, undefined)).toBe(false);
    expect(isTrustedSender(undefined, window)).toBe(false);
  });
});
