import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { externalUrl } from '../../../src/app/sinks';
import { problemsOf } from './helpers';

test('http.external_url takes an absolute http(s) URL, a path prefix included, and becomes the alerts\' base URL', () => {
  const c = loadConfigText('http:\n  external_url: https://plant.example/anomalyd/\n', 'test.yaml', {});
  assert.equal(c.http.external_url, 'https://plant.example/anomalyd/');
  assert.equal(externalUrl(c), 'https://plant.example/anomalyd/');
  const unset = loadConfigText('http:\n  host: 10.0.0.5\n  port: 9500\n', 'test.yaml', {});
  assert.equal(externalUrl(unset), 'http://10.0.0.5:9500/', 'without it, the listen address as before');
  assert.equal(externalUrl(loadConfigText('http:\n  host: "::1"\n', 'test.yaml', {})), 'http://[::1]:9464/');
});

test('http.external_url refuses what is not an absolute http(s) URL or cannot take a path', () => {
  assert.deepEqual(problemsOf('http:\n  external_url: plant.example:9464\n'), ['http.external_url: must be a URL starting with http://, https:// (got "plant.example:9464")']);
  assert.deepEqual(problemsOf('http:\n  external_url: ftp://plant.example/\n'), ['http.external_url: must be a URL starting with http://, https:// (got "ftp://plant.example/")']);
  assert.deepEqual(problemsOf('http:\n  external_url: "http://exa mple/"\n'), ['http.external_url: must be a URL starting with http://, https:// (got "http://exa mple/")']);
  assert.deepEqual(problemsOf('http:\n  external_url: "http://[bad/"\n'), ['http.external_url: is not an absolute http(s) URL (got "http://[bad/")']);
  assert.deepEqual(problemsOf('http:\n  external_url: "https://plant.example/?x=1"\n'), ['http.external_url: must not have a query or fragment (links are built by appending paths to it) (got "https://plant.example/?x=1")']);
  const creds = problemsOf('http:\n  external_url: "https://ops:hunter22@plant.example/"\n');
  assert.equal(creds.length, 1);
  assert.match(creds[0], /^http\.external_url: must not carry credentials/);
  assert.ok(!creds[0].includes('hunter22'), creds[0]);
});
