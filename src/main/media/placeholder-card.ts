import sharp from 'sharp';

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Greedy word wrap for the card's SVG text (no font metrics needed at this size). */
function wrap(text: string, width: number, maxLines: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if ((line + ' ' + word).trim().length > width) {
      lines.push(line.trim());
      line = word;
      if (lines.length === maxLines) break;
    } else {
      line = `${line} ${word}`;
    }
  }
  if (lines.length < maxLines && line.trim()) lines.push(line.trim());
  if (lines.length === maxLines && words.join(' ').length > lines.join(' ').length) {
    lines[maxLines - 1] = `${lines[maxLines - 1].replace(/.{0,2}$/, '')}…`;
  }
  return lines;
}

export interface CardText {
  label: string;
  scene: string;
  description: string;
}

/**
 * A 16:9 card standing in for a frame that has no render yet: it shows the frame's number, place
 * and description, and says plainly that it is not a rendered image.
 */
export async function placeholderCard(text: CardText, width: number): Promise<Buffer> {
  const w = 640;
  const h = 360;
  const lines = wrap(text.description, 52, 6);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
  <defs><pattern id="hatch" width="14" height="14" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
    <rect width="14" height="14" fill="#1d2128"/><line x1="0" y1="0" x2="0" y2="14" stroke="#252a33" stroke-width="6"/></pattern></defs>
  <rect width="${w}" height="${h}" fill="url(#hatch)"/>
  <rect x="16" y="16" width="${w - 32}" height="${h - 32}" rx="10" fill="#14171c" fill-opacity="0.86" stroke="#3a4250"/>
  <text x="36" y="58" font-family="DejaVu Sans, Arial, sans-serif" font-size="22" font-weight="bold" fill="#e7eaf0">${escapeXml(text.label)}</text>
  <text x="${w - 36}" y="58" text-anchor="end" font-family="DejaVu Sans, Arial, sans-serif" font-size="16" fill="#f0b429">NOT RENDERED YET</text>
  <text x="36" y="90" font-family="DejaVu Sans, Arial, sans-serif" font-size="16" fill="#8fa3bf">${escapeXml(text.scene)}</text>
  ${lines.map((l, i) => `<text x="36" y="${130 + i * 28}" font-family="DejaVu Sans, Arial, sans-serif" font-size="18" fill="#c9d1dc">${escapeXml(l)}</text>`).join('\n  ')}
</svg>`;
  return sharp(Buffer.from(svg)).resize({ width }).webp({ quality: 80 }).toBuffer();
}
