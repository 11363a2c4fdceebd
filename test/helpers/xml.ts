/**
 * A well-formedness check for the SVG the bench report writes (no XML parser among the
 * dependencies): one root element, every tag closed in order, attributes quoted and
 * unique, text and attribute values free of raw `<` and of `&` that is not an entity.
 * Returns the element names in document order, so a test can count them.
 */
const NAME = '[A-Za-z_][\\w.:-]*';
const ATTRIBUTE = new RegExp(`\\s+(${NAME})="([^"]*)"`, 'gy');
const ENTITY = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

export function checkWellFormed(xml: string): string[] {
  const elements: string[] = [];
  const open: string[] = [];
  let at = 0;
  let roots = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed at ${at}: ${why}: ${JSON.stringify(xml.slice(at, at + 60))}`);
  };
  while (at < xml.length) {
    const lt = xml.indexOf('<', at);
    const text = xml.slice(at, lt === -1 ? undefined : lt);
    if (ENTITY.test(text)) fail('a raw & in text');
    if (text.trim().length > 0 && open.length === 0) fail('text outside the root element');
    if (lt === -1) break;
    at = lt;
    if (xml.startsWith('</', at)) {
      const match = new RegExp(`^</(${NAME})\\s*>`).exec(xml.slice(at));
      if (match === null) fail('a bad closing tag');
      if (open.pop() !== match![1]) fail(`</${match![1]}> closes another element`);
      at += match![0].length;
      continue;
    }
    const start = new RegExp(`^<(${NAME})`).exec(xml.slice(at));
    if (start === null) fail('a bad tag');
    const name = start![1]!;
    let cursor = at + start![0].length;
    const seen = new Set<string>();
    ATTRIBUTE.lastIndex = cursor;
    for (let m = ATTRIBUTE.exec(xml); m !== null; m = ATTRIBUTE.exec(xml)) {
      if (seen.has(m[1]!)) fail(`attribute ${m[1]} twice`);
      seen.add(m[1]!);
      if (m[2]!.includes('<') || ENTITY.test(m[2]!)) fail(`attribute ${m[1]} has a raw < or &`);
      cursor = ATTRIBUTE.lastIndex;
    }
    const end = /^\s*(\/?)>/.exec(xml.slice(cursor));
    if (end === null) {
      at = cursor;
      fail(`tag <${name}> not closed properly`);
    }
    if (open.length === 0 && ++roots > 1) fail('a second root element');
    elements.push(name);
    if (end![1] !== '/') open.push(name);
    at = cursor + end![0].length;
  }
  if (open.length > 0) throw new Error(`not well-formed: <${open.join('>, <')}> never closed`);
  if (roots !== 1) throw new Error('not well-formed: no root element');
  return elements;
}
