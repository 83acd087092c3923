/**
 * Finds where JSON text stops being valid. V8's JSON.parse names the position for most errors but not for
 * "Unexpected token …", where it quotes the text instead; this scan gives every error a line and column without
 * echoing the file. Iterative (an explicit stack), so deeply nested input cannot overflow the call stack.
 * Returns the offset of the first character that cannot continue a valid document, or -1 when the text is valid.
 */
export function locateJsonError(text: string): number {
  const n = text.length;
  const stack: ('[' | '{')[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  const scanString = (): boolean => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return true; }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          i++;
          return false;
        }
        continue;
      }
      i++;
    }
    return false;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  // Expects `"key" :` inside an object; false (i at the fault) otherwise.
  const scanKey = (): boolean => {
    skipSpace();
    if (text[i] !== '"' || !scanString()) return false;
    skipSpace();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };

  for (;;) {
    // A value is expected at i.
    skipSpace();
    if (i >= n) return n;
    const c = text[i];
    let closedEmpty = false;
    if (c === '{' || c === '[') {
      i++;
      skipSpace();
      if (text[i] === (c === '{' ? '}' : ']')) {
        i++;
        closedEmpty = true;
      } else {
        stack.push(c);
        if (c === '{' && !scanKey()) return i;
        continue;
      }
    }
    if (!closedEmpty) {
      if (c === '"') {
        if (!scanString()) return i;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (!m) return c === '-' ? i + 1 : i;
        i += m[0].length;
      } else {
        const literal = ['true', 'false', 'null'].find((l) => text.startsWith(l, i));
        if (!literal) return i;
        i += literal.length;
      }
    }
    // After a value: close containers or move to the next element.
    for (;;) {
      skipSpace();
      const top = stack[stack.length - 1];
      if (top === undefined) return i < n ? i : -1;
      if (text[i] === ',') {
        i++;
        if (top === '{' && !scanKey()) return i;
        break;
      }
      if (text[i] === (top === '{' ? '}' : ']')) {
        i++;
        stack.pop();
        continue;
      }
      return i;
    }
  }
}
