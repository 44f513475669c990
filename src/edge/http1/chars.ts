/** RFC 9110 5.6.2 tchar. */
export const TCHAR = new Uint8Array(256);
/** RFC 9110 5.5 field-value characters: VCHAR, SP, HTAB and obs-text (never CR, LF, NUL or other controls). */
export const FIELD_VCHAR = new Uint8Array(256);
/** Request-target characters: visible ASCII only (stricter than llhttp, which lets obs-text through). */
export const TARGET_CHAR = new Uint8Array(256);
/** Hex digit values, 255 for anything else. */
export const HEX = new Uint8Array(256).fill(255);

for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))) TCHAR[c] = 1;
  if (c === 9 || (c >= 32 && c <= 126) || c >= 128) FIELD_VCHAR[c] = 1;
  if (c >= 33 && c <= 126) TARGET_CHAR[c] = 1;
}
for (let c = 48; c <= 57; c++) HEX[c] = c - 48;
for (let c = 65; c <= 70; c++) HEX[c] = c - 55;
for (let c = 97; c <= 102; c++) HEX[c] = c - 87;

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
