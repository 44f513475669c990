// Config diffs for the config view: a config rendered as YAML-style lines (how
// operators write it) and a line diff (longest common subsequence) with context.

/** Renders a JSON value as YAML-like lines, for reading only (not a YAML serializer). */
export function toLines(value) {
  const out = [];
  emit(value, '', out);
  return out;
}

function scalar(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return /^[\w./@*-][\w ./@*:${}-]*$/.test(v) && !/: |:$/.test(v) && !/^(true|false|null|~|\d[\d.e+-]*)$/i.test(v) ? v : JSON.stringify(v);
  return String(v);
}

const isScalar = (v) => v === null || typeof v !== 'object';

function inline(v) {
  if (isScalar(v)) return scalar(v);
  if (Array.isArray(v)) return v.every(isScalar) ? `[${v.map(scalar).join(', ')}]` : null;
  const entries = Object.entries(v);
  return entries.every(([, x]) => isScalar(x)) ? `{ ${entries.map(([k, x]) => `${k}: ${scalar(x)}`).join(', ')} }` : null;
}

function emit(v, indent, out) {
  if (Array.isArray(v)) {
    if (v.length === 0) return void out.push(`${indent}[]`);
    for (const item of v) {
      const short = inline(item);
      if (short !== null && short.length + indent.length < 100) out.push(`${indent}- ${short}`);
      else {
        const sub = [];
        emit(item, indent + '  ', sub);
        out.push(`${indent}- ${sub[0].trimStart()}`, ...sub.slice(1));
      }
    }
    return;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return void out.push(`${indent}{}`);
    for (const [k, x] of entries) {
      const short = inline(x);
      if (short !== null && short.length + indent.length + k.length < 100) out.push(`${indent}${k}: ${short}`);
      else {
        out.push(`${indent}${k}:`);
        emit(x, indent + '  ', out);
      }
    }
    return;
  }
  out.push(indent + scalar(v));
}

/**
 * Line diff: [{op: ' ' | '+' | '-', text}] from a to b. Quadratic in memory,
 * so beyond ~4M cells it compares line by line instead (configs are far smaller).
 */
export function diffLines(a, b) {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf);
  const B = b.slice(pre, b.length - suf);
  const mid = [];
  if (A.length * B.length > 4_000_000) {
    for (const t of A) mid.push({ op: '-', text: t });
    for (const t of B) mid.push({ op: '+', text: t });
  } else {
    const n = A.length;
    const m = B.length;
    const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = A[i] === B[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (A[i] === B[j]) (mid.push({ op: ' ', text: A[i] }), i++, j++);
      else if (L[i + 1][j] >= L[i][j + 1]) mid.push({ op: '-', text: A[i++] });
      else mid.push({ op: '+', text: B[j++] });
    }
    while (i < n) mid.push({ op: '-', text: A[i++] });
    while (j < m) mid.push({ op: '+', text: B[j++] });
  }
  return [...a.slice(0, pre).map((text) => ({ op: ' ', text })), ...mid, ...b.slice(b.length - suf).map((text) => ({ op: ' ', text }))];
}

/** Keeps `context` unchanged lines around each change; longer unchanged runs become {op: '…', count}. */
export function withContext(lines, context = 3) {
  const keep = new Array(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op === ' ') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = true;
  });
  const out = [];
  let skipped = 0;
  lines.forEach((l, i) => {
    if (keep[i]) {
      if (skipped) out.push({ op: '…', count: skipped });
      skipped = 0;
      out.push(l);
    } else skipped++;
  });
  if (skipped) out.push({ op: '…', count: skipped });
  return out;
}
