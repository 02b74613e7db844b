/** A minimal multipart/form-data reader for the user-import uploads (one small file per request). */

/** One part of a form upload. */
export interface FormPart {
  name: string | undefined;
  filename: string | undefined;
  data: Buffer;
}

/** The parts of a multipart body; an unparsable body yields no parts. */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined) return [];
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const start = pos + delimiter.length;
    // "--" after a delimiter ends the body.
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd >= 0) {
      const head = part.toString('utf8', 0, headEnd);
      let data = part.subarray(headEnd + 4);
      // The CRLF before the next delimiter belongs to the delimiter.
      if (data.length >= 2 && data[data.length - 2] === 0x0d && data[data.length - 1] === 0x0a)
        data = data.subarray(0, -2);
      const disp = /content-disposition:[^\r\n]*/i.exec(head)?.[0] ?? '';
      parts.push({
        name: /\bname="([^"]*)"/i.exec(disp)?.[1],
        filename: /\bfilename="([^"]*)"/i.exec(disp)?.[1],
        data,
      });
    }
    pos = next;
  }
  return parts;
}
