// Draws a link as a QR code on a canvas, black on white with a quiet zone, so phones can scan it
// from a screen or a projector (the welcome card and the demo's join card).
import qrcode from 'qrcode-generator';

/** Blank modules around the code: scanners need a margin to find it. */
const quietModules = 2;

export function drawQrCode(canvas: HTMLCanvasElement, link: string, cellPx: number): void {
  const code = qrcode(0, 'M');
  code.addData(link);
  code.make();
  const modules = code.getModuleCount();
  const size = (modules + 2 * quietModules) * cellPx;
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = '#000';
  for (let r = 0; r < modules; r++)
    for (let c = 0; c < modules; c++) if (code.isDark(r, c)) ctx.fillRect((c + quietModules) * cellPx, (r + quietModules) * cellPx, cellPx, cellPx);
}
