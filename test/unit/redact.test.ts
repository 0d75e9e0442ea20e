import { redactUrls } from '../../common/redact';

describe('redactUrls', () => {
  it('replaces user and password of a URL with ***', () => {
    expect(redactUrls('cannot read git repository https://x-access-token:ghs_SECRET@github.com/acme/gitops.git: fetch failed')).toBe(
      'cannot read git repository https://***@github.com/acme/gitops.git: fetch failed',
    );
  });

  it('replaces a user alone', () => {
    expect(redactUrls('ssh://git@github.com/acme/gitops.git and http://ghp_token@host:8080/x')).toBe('ssh://***@github.com/acme/gitops.git and http://***@host:8080/x');
  });

  it('takes a password holding an @ or an escaped character whole', () => {
    expect(redactUrls("'https://user:p@ss@host/repo'")).toBe("'https://***@host/repo'");
    expect(redactUrls('https://user:p%40ss%2Fw@host/repo')).toBe('https://***@host/repo');
  });

  it('redacts every URL in the text, in quotes, JSON and HTML alike', () => {
    const json = JSON.stringify({ error: 'a https://a:b@h1/x b "https://c:d@h2"' });
    expect(redactUrls(json)).toBe(JSON.stringify({ error: 'a https://***@h1/x b "https://***@h2"' }));
    expect(redactUrls('<p>https://a:b@h1/x</p>')).toBe('<p>https://***@h1/x</p>');
  });

  it('leaves URLs without user info, e-mail addresses and @ after the host alone', () => {
    const text = 'see https://github.com/acme/gitops/@main, mail dana@example.com, http://host:3000/a?b=c@d and /tmp/repo';
    expect(redactUrls(text)).toBe(text);
  });
});
