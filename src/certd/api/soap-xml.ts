// SOAP request bodies as a small namespace-aware element tree, read with saxes (a
// conforming, non-validating streaming parser that never fetches anything). A document
// type declaration is refused outright: with no DTD there are no entity declarations, so
// neither an external entity (XXE) nor an expanding one (billion laughs) can be defined,
// and saxes refuses a reference to an undeclared entity. Depth and element count are
// bounded here; the body's size is bounded by the HTTP core before anything is read.
import { SaxesParser } from 'saxes';

/** Deepest element nesting taken (a certificate request nests 6 deep under the Body). */
export const MAX_DEPTH = 32;
/** Most elements in one request (a LoadCACertificates of 200 CAs is ~1,000). */
export const MAX_ELEMENTS = 10_000;

export interface XmlElement {
  ns: string;
  local: string;
  /** Attributes by "{namespace}local" ("{}local" for unqualified ones). */
  attrs: Map<string, string>;
  children: XmlElement[];
  /** The element's own character data, concatenated. */
  text: string;
}

/** Why a body is not a document we read; the message never quotes the body. */
export class XmlRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlRefused';
  }
}

export function parseXml(body: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  parser.on('doctype', () => {
    throw new XmlRefused('a document type declaration is not accepted');
  });
  parser.on('error', (e) => {
    // saxes prefixes line:column; the rest names the rule, never the input's text.
    throw new XmlRefused(`not well-formed XML (${e.message.split('\n')[0]!.slice(0, 160)})`);
  });
  parser.on('opentag', (tag) => {
    if (++count > MAX_ELEMENTS) throw new XmlRefused(`more than ${MAX_ELEMENTS} elements`);
    if (stack.length >= MAX_DEPTH) throw new XmlRefused(`elements nested deeper than ${MAX_DEPTH}`);
    const attrs = new Map<string, string>();
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
      attrs.set(`{${a.uri}}${a.local}`, a.value);
    }
    const el: XmlElement = { ns: tag.uri ?? '', local: tag.local ?? tag.name, attrs, children: [], text: '' };
    stack[stack.length - 1]?.children.push(el);
    if (!root) root = el;
    stack.push(el);
  });
  parser.on('text', (t) => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
  });
  parser.on('cdata', (t) => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(body).close();
  if (!root) throw new XmlRefused('no root element');
  return root;
}

/** The children named `local` in namespace `ns`, in document order. */
export function childrenNamed(el: XmlElement, ns: string, local: string): XmlElement[] {
  return el.children.filter((c) => c.ns === ns && c.local === local);
}

/** The first child named `local` in `ns`, wherever it stands among its siblings. */
export function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return el.children.find((c) => c.ns === ns && c.local === local);
}
