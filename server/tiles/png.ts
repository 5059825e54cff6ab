import sharp from 'sharp';
import { TILE_SIZE } from './mercator.js';

// Level 4 with adaptive filtering: tiles are re-encoded on every cold request, so encoding time
// matters more than the last few percent of size.
/** Encodes a 256×256 RGBA tile as PNG. */
export function encodeTilePng(rgba: Uint8Array): Promise<Buffer> {
  return sharp(rgba, { raw: { width: TILE_SIZE, height: TILE_SIZE, channels: 4 } })
    .png({ compressionLevel: 4, adaptiveFiltering: true })
    .toBuffer();
}
