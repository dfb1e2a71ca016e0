// The certificates page: plain DOM, no framework. It calls only the public APIs (cert.v1
// and /certd/v1) with the browser's own Digest credentials, which the browser asked for
// when it loaded this page (same challenge, same realm) and sends again with each fetch.
'use strict';

const CERT = '/config/rest/cert/v1';
const CERTD = '/certd/v1';
const DAY = 86400000;

/** An API refusal: the API's code and message, and the form field it names when it does. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
    // Validation messages start with the field's path ("data.alias: …").
    const m = /^(?:data\.)?([a-z_]+)(?:\.\d+)?:/.exec(message);
    this.field = m ? m[1] : FIELD_OF_CODE[code];
  }
}

/** cert.v1's numeric codes whose refusal is about one field (README, error codes). */
const FIELD_OF_CODE = { 2: 'alias', 6: 'certificate', 7: 'private_key', 8: 'private_key', 9: 'passphrase', 10: 'pkcs12', 11: 'keystore' };

async function api(method, path, data) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (data !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify({ data });
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 0, `${res.status} ${res.statusText}`);
  }
  if (body.status !== 'success') {
    const e = body.error || {};
    throw new ApiError(res.status, e.code, e.message || `${res.status} ${res.statusText}`);
  }
  return body.data;
}

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') n.className = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c instanceof Node ? c : String(c ?? ''));
  return n;
}

const status = (text) => { $('#status').textContent = text; };

// --- a small DER reader: SANs, key type and the chain come from the PEM itself ---------

function pemBlocks(pem) {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) || []);
}

function der(pemBlock) {
  const b64 = pemBlock.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** One TLV at `at`: tag, the content's start and end, and where the next one starts. */
function tlv(b, at) {
  const tag = b[at];
  let len = b[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  return { tag, start, end: start + len, next: start + len };
}

function children(b, node) {
  const out = [];
  for (let at = node.start; at < node.end; at = out[out.length - 1].next) out.push(tlv(b, at));
  return out;
}

function oid(b, node) {
  const v = b.subarray(node.start, node.end);
  const parts = [Math.floor(v[0] / 40), v[0] % 40];
  let n = 0;
  for (let i = 1; i < v.length; i++) {
    n = n * 128 + (v[i] & 0x7f);
    if (!(v[i] & 0x80)) { parts.push(n); n = 0; }
  }
  return parts.join('.');
}

const CURVES = { '1.2.840.10045.3.1.7': 'P-256', '1.3.132.0.34': 'P-384', '1.3.132.0.35': 'P-521' };

/** SANs and key type of one DER certificate. */
function readCertificate(b) {
  const cert = tlv(b, 0);
  const tbs = children(b, children(b, cert)[0]);
  const i = tbs[0].tag === 0xa0 ? 1 : 0; // [0] version is optional
  const spki = children(b, tbs[i + 5]);
  const alg = children(b, spki[0]);
  const algOid = oid(b, alg[0]);
  let key = algOid;
  if (algOid === '1.2.840.10045.2.1') key = `EC ${CURVES[oid(b, alg[1])] || oid(b, alg[1])}`;
  else if (algOid === '1.2.840.113549.1.1.1') {
    const bits = tlv(b, spki[1].start + 1); // BIT STRING: one byte of unused bits, then RSAPublicKey
    const mod = children(b, bits)[0];
    let len = mod.end - mod.start;
    if (b[mod.start] === 0) len -= 1;
    key = `RSA ${len * 8}`;
  } else if (algOid === '1.3.101.112') key = 'Ed25519';
  const sans = [];
  const extsWrap = tbs.slice(i + 6).find((t) => t.tag === 0xa3);
  if (extsWrap) {
    for (const ext of children(b, children(b, extsWrap)[0])) {
      const parts = children(b, ext);
      if (oid(b, parts[0]) !== '2.5.29.17') continue;
      const names = children(b, tlv(b, parts[parts.length - 1].start));
      for (const n of names) {
        const v = b.subarray(n.start, n.end);
        if (n.tag === 0x82) sans.push(`DNS:${String.fromCharCode(...v)}`);
        else if (n.tag === 0x81) sans.push(`email:${String.fromCharCode(...v)}`);
        else if (n.tag === 0x86) sans.push(`URI:${String.fromCharCode(...v)}`);
        else if (n.tag === 0x87) sans.push(`IP:${v.length === 4 ? Array.from(v).join('.') : Array.from(v, (x) => x.toString(16).padStart(2, '0')).join('').replace(/(.{4})(?!$)/g, '$1:')}`);
      }
    }
  }
  return { key, sans };
}

// --- the model ----------------------------------------------------------------------------

let entries = [];
let keystores = [];
let bindings = [];
let current; // the entry the details screen shows

const cn = (dn) => (/(?:^|,\s*)CN=((?:\\.|[^,])*)/.exec(dn || '') || [])[1] || '';
const daysLeft = (notAfter) => Math.floor((Date.parse(notAfter) - Date.now()) / DAY);

async function load() {
  const [tree, all, bound] = await Promise.all([api('GET', CERT), api('GET', `${CERTD}/entries`), api('GET', `${CERTD}/bindings`)]);
  keystores = tree.keystores;
  bindings = bound;
  const pems = new Map([...tree.certificates, ...tree.ca_certificates].map((c) => [c.alias, c]));
  entries = all.map((e) => ({ ...e, pem: (pems.get(e.alias) || {}).certificate || '' }));
  renderList();
  renderKeystores();
  renderServices();
}

function levelOf(id) {
  const k = keystores.find((s) => s.id === id);
  return k ? `${id} (${k.security_level})` : (id || '');
}

function renderList() {
  const q = $('#search').value.trim().toLowerCase();
  const by = $('#sort').value;
  const key = { alias: (e) => e.alias, cn: (e) => cn(e.subject), issuer: (e) => cn(e.issuer), expiry: (e) => e.not_after }[by];
  const shown = entries
    .filter((e) => !q || [e.alias, cn(e.subject), cn(e.issuer), e.subject, e.issuer].some((s) => (s || '').toLowerCase().includes(q)))
    .sort((a, b) => (by === 'expiry' ? Date.parse(key(a)) - Date.parse(key(b)) : key(a).localeCompare(key(b))));
  const body = $('#entries tbody');
  body.replaceChildren(...shown.map((e) => {
    const left = daysLeft(e.not_after);
    const tone = left < 0 ? 'expired' : left <= 7 ? 'urgent' : left <= 30 ? 'soon' : '';
    return el('tr', { 'data-alias': e.alias },
      el('th', { scope: 'row' }, e.alias),
      el('td', {}, e.kind === 'ca' ? 'CA' : 'certificate'),
      el('td', {}, cn(e.subject)),
      el('td', {}, cn(e.issuer) || e.issuer),
      el('td', {}, e.not_after),
      el('td', { class: tone }, left < 0 ? `expired ${-left} days ago` : `${left}`),
      el('td', {}, e.kind === 'ca' ? '' : levelOf(e.keystore)),
      el('td', {}, e.used_by.join(', ')),
      el('td', {}, e.protected ? 'protected' : ''),
      el('td', {}, el('button', { type: 'button', onclick: () => showDetails(e.id), 'aria-label': `Details of ${e.alias}` }, 'Details')));
  }));
  if (shown.length === 0) body.append(el('tr', {}, el('td', { colspan: '10' }, 'No entries match.')));
}

function renderKeystores() {
  for (const s of $$('select.keystores')) {
    const was = s.value;
    s.replaceChildren(el('option', { value: '' }, 'default'), ...keystores.map((k) => el('option', { value: k.id }, `${k.id} (${k.security_level})`)));
    s.value = was;
  }
  for (const form of $$('#f-create, #f-enroll')) renderKeyTypes(form);
  $('#f-enroll').trust_anchors.replaceChildren(...entries.filter((e) => e.kind === 'ca').map((e) => el('option', { value: e.id }, `${e.alias} (${cn(e.subject)})`)));
}

/** Key types the chosen key store can generate (the default store: the first listed). */
function renderKeyTypes(form) {
  const chosen = form.keystore.value;
  const k = keystores.find((s) => s.id === chosen) || keystores[0];
  const was = form.key_type.value;
  form.key_type.replaceChildren(...(k ? k.key_types : []).map((t) => el('option', { value: t }, t)));
  if ([...form.key_type.options].some((o) => o.value === was)) form.key_type.value = was;
}

function renderServices() {
  for (const form of $$('form.bind')) {
    const name = form.dataset.binding;
    const b = bindings.find((x) => x.name === name);
    $('.current', form).textContent = b && b.certificate ? `Now: ${b.certificate.alias}` : 'Now: none';
    const sel = form.certificate;
    sel.replaceChildren(...entries.filter((e) => e.kind !== 'ca').map((e) => el('option', { value: e.id }, `${e.alias} (${cn(e.subject)})`)));
    // A certificate checked and not yet applied stays chosen.
    if (form.dataset.checked) sel.value = form.dataset.checked;
    else if (b && b.certificate) sel.value = b.certificate.id;
  }
}

function showDetails(id) {
  current = entries.find((e) => e.id === id);
  if (!current) return;
  renderDetails();
  for (const f of ['#f-csr', '#f-upload-signed']) $(f).hidden = current.kind === 'ca';
  for (const f of $$('#details form')) clearErrors(f);
  $('#csr-out').hidden = true;
  show('details');
}

function renderDetails() {
  const blocks = pemBlocks(current.pem);
  let parsed = { key: '', sans: [] };
  try {
    if (blocks[0]) parsed = readCertificate(der(blocks[0]));
  } catch {
    parsed = { key: 'unreadable', sans: [] };
  }
  const chain = blocks.slice(1).map((p) => { try { return readSubject(p); } catch { return '?'; } });
  const rows = [
    ['Alias', current.alias], ['Kind', current.kind === 'ca' ? 'CA certificate' : 'certificate'],
    ['Subject', current.subject], ['Issuer', current.issuer],
    ['Subject alternative names', parsed.sans.join(', ') || 'none'],
    ['Valid from', current.not_before], ['Valid to', `${current.not_after} (${daysLeft(current.not_after)} days left)`],
    ['Key type', parsed.key], ['Key store', current.kind === 'ca' ? '' : levelOf(current.keystore)],
    ['SHA-1', current.sha1], ['SHA-256', current.sha256],
    ['Chain', chain.length ? chain.join(' → ') : 'none carried'],
    ['Used by', current.used_by.join(', ') || 'nothing'], ['Protected', current.protected ? 'yes' : 'no'],
  ];
  $('#details-fields').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  $('#details-h').textContent = `Details: ${current.alias}`;
  $('#details-pem').value = current.pem;
}

/** The subject of a chain certificate, as its CN when it has one (DER walk to the Name). */
function readSubject(pemBlock) {
  const b = der(pemBlock);
  const tbs = children(b, children(b, tlv(b, 0))[0]);
  const name = tbs[(tbs[0].tag === 0xa0 ? 1 : 0) + 4];
  for (const rdn of children(b, name)) {
    const atv = children(b, children(b, rdn)[0]);
    if (oid(b, atv[0]) === '2.5.4.3') return new TextDecoder().decode(b.subarray(atv[1].start, atv[1].end));
  }
  return 'no CN';
}

// --- screens, forms, errors ---------------------------------------------------------------

function show(screen) {
  for (const s of $$('main > section')) s.hidden = s.id !== screen;
  for (const b of $$('nav button')) {
    if (b.dataset.screen === (screen === 'details' ? 'list' : screen)) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (screen === 'audit') loadAudit();
  if (screen === 'report') loadReport();
  if (screen === 'enrollments') loadEnrollments();
  const h = $(`#${screen} h2`);
  h.tabIndex = -1;
  h.focus();
}

function clearErrors(form) {
  for (const p of $$('.field-error', form)) p.remove();
  for (const i of $$('[aria-invalid]', form)) { i.removeAttribute('aria-invalid'); i.removeAttribute('aria-describedby'); }
  $('.form-error', form).textContent = '';
  const w = $('.preflight', form);
  if (w) w.replaceChildren();
}

/** The error in words beside the field it names, else under the form. */
function showError(form, e) {
  const words = e instanceof ApiError ? `${e.message} (code ${e.code})` : e.message;
  const input = e.field && form.elements.namedItem(e.field);
  if (input && input.nodeType === 1) {
    const id = `${form.id}-${e.field}-error`;
    const p = el('p', { class: 'error field-error', id, role: 'alert' }, words);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    input.closest('label').after(p);
  } else {
    $('.form-error', form).textContent = words;
  }
}

function readFile(input, as) {
  const f = input.files[0];
  if (!f) return Promise.reject(Object.assign(new Error('choose a file'), { field: input.name }));
  return as === 'base64'
    ? f.arrayBuffer().then((buf) => { let s = ''; for (const x of new Uint8Array(buf)) s += String.fromCharCode(x); return btoa(s); })
    : f.text();
}

const lines = (text) => text.split('\n').map((s) => s.trim()).filter(Boolean);

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/x-pem-file' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Runs a form's action: errors shown in words, the list reloaded after a change. */
function onSubmit(id, action) {
  const form = $(id);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const buttons = $$('button[type=submit]', form);
    for (const b of buttons) b.disabled = true;
    try {
      const done = await action(form, ev.submitter);
      if (done) status(done);
      await load();
      // The details shown follow the change (a new certificate uploaded for the entry).
      const still = current && entries.find((e) => e.id === current.id);
      if (still && !$('#details').hidden) { current = still; renderDetails(); }
    } catch (e) {
      showError(form, e);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}

const ksOrNull = (form) => form.keystore.value || null;

onSubmit('#f-create', async (f) => {
  const sans = lines(f.subject_alt_names.value);
  await api('POST', `${CERT}/create_certificate`, {
    alias: f.alias.value, subject: f.subject.value, key_type: f.key_type.value || null, keystore: ksOrNull(f),
    ...(sans.length ? { subject_alt_names: sans } : {}),
  });
  const alias = f.alias.value;
  f.reset();
  return `Created ${alias}.`;
});

onSubmit('#f-csr', async (f) => {
  const subject = f.subject.value.trim();
  const sanText = f.subject_alt_names.value;
  const data = {};
  if (subject) data.subject = subject;
  // A SAN field with only blank lines is an explicit empty list; untouched, it is absent.
  if (sanText.length) data.subject_alt_names = lines(sanText);
  const pem = await api('POST', `${CERT}/certificates/${encodeURIComponent(current.alias)}/get_csr`, data);
  $('#csr-out').value = pem;
  $('#csr-out').hidden = false;
  download(`${current.alias}.csr.pem`, pem);
  return `CSR for ${current.alias} downloaded.`;
});

onSubmit('#f-upload-signed', async (f) => {
  const pem = await readFile(f.certificate, 'text');
  await api('PATCH', `${CERT}/certificates/${encodeURIComponent(current.alias)}`, { certificate: pem });
  f.reset();
  return `Certificate of ${current.alias} replaced.`;
});

onSubmit('#f-delete', async () => {
  const coll = current.kind === 'ca' ? 'ca_certificates' : 'certificates';
  await api('DELETE', `${CERT}/${coll}/${encodeURIComponent(current.alias)}`);
  const alias = current.alias;
  show('list');
  return `Deleted ${alias}.`;
});

onSubmit('#f-add-cert', async (f) => {
  const [certificate, key] = await Promise.all([readFile(f.certificate, 'text'), readFile(f.private_key, 'text')]);
  await api('POST', `${CERT}/certificates`, { alias: f.alias.value, certificate, private_key: key, keystore: ksOrNull(f) });
  const alias = f.alias.value;
  f.reset();
  return `Added ${alias}.`;
});

onSubmit('#f-pkcs12', async (f) => {
  const pkcs12 = await readFile(f.pkcs12, 'base64');
  await api('POST', `${CERT}/install_from_pkcs12`, { alias: f.alias.value, pkcs12, passphrase: f.passphrase.value, keystore: ksOrNull(f) });
  const alias = f.alias.value;
  f.reset();
  return `Installed ${alias} from PKCS#12.`;
});

onSubmit('#f-add-ca', async (f) => {
  const certificate = await readFile(f.certificate, 'text');
  await api('POST', `${CERT}/ca_certificates`, { alias: f.alias.value, certificate });
  const alias = f.alias.value;
  f.reset();
  return `Added CA certificate ${alias}.`;
});

/** The binding request of a service form: the chosen certificate, the CAs and settings kept. */
function bindingRequest(f) {
  const was = bindings.find((b) => b.name === f.dataset.binding);
  return { certificate: f.certificate.value, ca: was ? was.ca.map((c) => c.id) : [], settings: was ? was.settings : {} };
}

/** Step one checks (POST …/check, nothing changes) and shows the result; step two applies what passed. */
for (const form of $$('form.bind')) {
  const apply = $('button[value=apply]', form);
  const forget = () => { delete form.dataset.checked; apply.hidden = true; $('.preflight', form).replaceChildren(); };
  form.certificate.addEventListener('change', forget);
  onSubmit(`#${form.id}`, async (f, submitter) => {
    const name = f.dataset.binding;
    const list = $('.preflight', f);
    const alias = (entries.find((e) => e.id === f.certificate.value) || {}).alias;
    if (!submitter || submitter.value !== 'apply') {
      forget();
      const r = await api('POST', `${CERTD}/bindings/${name}/check`, bindingRequest(f));
      list.replaceChildren(
        el('li', { class: r.ok ? 'passed' : 'error' }, r.ok ? `Pre-flight passed for ${alias}.` : `Pre-flight refuses ${alias}:`),
        ...r.errors.map((x) => el('li', { class: 'error' }, x.message)),
        ...r.warnings.map((x) => el('li', { class: 'warning' }, `Warning: ${x}`)));
      if (r.ok) {
        f.dataset.checked = f.certificate.value;
        apply.hidden = false;
      }
      return r.ok ? `Pre-flight passed; confirm with "${apply.textContent}".` : 'Pre-flight refused: nothing changed.';
    }
    const result = await api('PUT', `${CERTD}/bindings/${name}`, bindingRequest(f));
    forget();
    list.replaceChildren(...result.warnings.map((x) => el('li', { class: 'warning' }, `Warning: ${x}`)));
    return `${name} now uses ${result.certificate.alias} (pre-flight passed${result.warnings.length ? ' with warnings' : ''}).`;
  });
}

async function loadEnrollments() {
  $('#enrollments-error').textContent = '';
  try {
    const rows = await api('GET', `${CERTD}/enrollments`);
    $('#enrollments-table tbody').replaceChildren(...rows.map((r) => el('tr', { 'data-id': r.id },
      el('th', { scope: 'row' }, r.identifiers.map((i) => i.value).join(', ')), el('td', {}, r.directory_url),
      el('td', { class: /CA_/.test(r.state) ? 'urgent' : '' }, r.state), el('td', {}, r.why || ''),
      el('td', {}, r.current ? `${r.current.alias} (to ${r.current.not_after})` : 'none yet'), el('td', {}, r.next_attempt || ''),
      el('td', {}, el('button', { type: 'button', class: 'danger', 'aria-label': `Delete the enrollment of ${r.identifiers.map((i) => i.value).join(', ')}`, onclick: () => dropEnrollment(r.id) }, 'Delete')))));
    if (rows.length === 0) $('#enrollments-table tbody').append(el('tr', {}, el('td', { colspan: '7' }, 'No enrollments.')));
  } catch (e) {
    $('#enrollments-error').textContent = `${e.message}${e.code ? ` (code ${e.code})` : ''}`;
  }
}

async function dropEnrollment(id) {
  try {
    await api('DELETE', `${CERTD}/enrollments/${id}`);
    status('Enrollment deleted.');
  } catch (e) {
    $('#enrollments-error').textContent = `${e.message}${e.code ? ` (code ${e.code})` : ''}`;
  }
  await loadEnrollments();
}

const IP = /^[0-9.]+$|:/;

onSubmit('#f-enroll', async (f) => {
  const pem = (id) => (entries.find((e) => e.id === id) || {}).pem;
  const data = {
    directory_url: f.directory_url.value.trim(),
    trust_anchors: [...f.trust_anchors.selectedOptions].map((o) => pem(o.value)),
    identifiers: lines(f.identifiers.value).map((v) => ({ type: IP.test(v) ? 'ip' : 'dns', value: v })),
    bindings: $$('input[name=bindings]:checked', f).map((c) => c.value),
    ...(f.keystore.value ? { keystore: f.keystore.value } : {}),
    ...(f.key_type.value ? { key_type: f.key_type.value } : {}),
  };
  await api('POST', `${CERTD}/enrollments`, data);
  f.reset();
  await loadEnrollments();
  return `Enrollment for ${data.identifiers.map((i) => i.value).join(', ')} created.`;
});

async function loadReport() {
  $('#report-error').textContent = '';
  try {
    const rows = await api('GET', `${CERTD}/report`);
    $('#report-table tbody').replaceChildren(...rows.map((r) => el('tr', { 'data-alias': r.alias },
      el('th', { scope: 'row' }, r.alias), el('td', {}, r.kind === 'ca' ? 'CA' : 'certificate'), el('td', {}, r.subject),
      el('td', { class: r.days_left < 0 ? 'expired' : r.days_left <= 7 ? 'urgent' : r.days_left <= 30 ? 'soon' : '' }, r.days_left),
      el('td', {}, r.findings.length ? el('ul', {}, ...r.findings.map((f) => el('li', {}, `${f.code}: ${f.message}`))) : 'none'))));
  } catch (e) {
    $('#report-error').textContent = e.message;
  }
}

async function loadAudit() {
  $('#audit-error').textContent = '';
  try {
    const records = (await api('GET', `${CERTD}/audit?limit=200`)).reverse();
    const cols = ['time', 'user', 'api', 'operation', 'target', 'outcome'];
    $('#audit-table thead').replaceChildren(el('tr', {}, ...cols.map((c) => el('th', { scope: 'col' }, c))));
    $('#audit-table tbody').replaceChildren(...records.map((r) => el('tr', {}, ...cols.map((c) => el('td', {}, typeof r[c] === 'object' && r[c] ? Object.values(r[c]).join(' ') : r[c])))));
  } catch (e) {
    $('#audit-error').textContent = e.message;
  }
}

// --- wiring -------------------------------------------------------------------------------

for (const b of $$('[data-screen]')) b.addEventListener('click', () => show(b.dataset.screen));
$('#search').addEventListener('input', renderList);
$('#sort').addEventListener('change', renderList);
for (const form of $$('#f-create, #f-enroll')) form.keystore.addEventListener('change', () => renderKeyTypes(form));
$('#enrollments-refresh').addEventListener('click', loadEnrollments);
$('#copy-pem').addEventListener('click', () => navigator.clipboard.writeText($('#details-pem').value).then(() => status('PEM copied.'), () => { $('#details-pem').select(); status('Select-all done: copy with Ctrl+C.'); }));

load().then(() => { document.body.dataset.ready = 'true'; }, (e) => { $('#list-error').textContent = e.message; });
