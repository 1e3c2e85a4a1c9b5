/**
 * A QR code as an SVG drawn by Latchkey itself (no third-party service sees the TOTP secret):
 * @paulmillr/qr computes the module matrix, this draws one path of unit squares. The text is
 * never placed in the markup, so nothing in it needs escaping.
 */
import { encodeQR } from '@paulmillr/qr';

/** Modules of quiet zone around the code (ISO/IEC 18004 asks for 4). */
const QUIET = 4;

export function qrSvg(text: string, opts: { title: string; pixels?: number }): string {
  const rows = encodeQR(text, 'raw', { ecc: 'medium', border: 0 });
  const size = rows.length + 2 * QUIET;
  let d = '';
  rows.forEach((row, y) => {
    row.forEach((on, x) => {
      if (on) d += `M${x + QUIET} ${y + QUIET}h1v1h-1z`;
    });
  });
  const px = opts.pixels ?? 200;
  const title = opts.title.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${px}" height="${px}" ` +
    `viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"><title>${title}</title>` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`
  );
}
