/**
 * Reads what the catalogue needs from an MP4/QuickTime file by walking its box headers and reading only
 * the small boxes that matter (mvhd, tkhd, mdhd, hdlr, stsd): the media data and the large sample tables
 * are skipped, so a probe costs a few KiB of reads whatever the file's size.
 *
 * Box layout per ISO/IEC 14496-12 §4.2: 32-bit size + 4-char type, size 1 = 64-bit size follows,
 * size 0 = to the end of the enclosing box.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Container, MediaInfo } from '../model/content.ts';

/** A file that is not a readable MP4; the message is the catalogue's "unplayable" reason. */
export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  /** What the probe had read when it gave up, so a failed probe's cost is counted too. */
  bytesRead = 0;
}

/** The probe's answer and what it cost. */
export interface ProbeResult {
  readonly media: MediaInfo;
  readonly bytesRead: number;
  readonly mimeType: string;
}

interface Box {
  readonly type: string;
  readonly start: number;
  readonly headerSize: number;
  readonly end: number;
}

const TOP_LEVEL = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'uuid', 'pdin', 'meta', 'moof', 'mfra', 'styp', 'sidx']);
/** Largest box body read whole; stsd and friends are tiny, anything bigger is skipped or corrupt. */
const MAX_SMALL_BOX = 64 * 1024;
/** Guard against hostile files with endless boxes. */
const MAX_BOXES = 10_000;

class Reader {
  bytesRead = 0;
  boxes = 0;
  constructor(private readonly fh: FileHandle, readonly size: number) {}

  async read(pos: number, len: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(len, this.size - pos));
    const buf = Buffer.alloc(n);
    if (n === 0) return buf;
    const { bytesRead } = await this.fh.read(buf, 0, n, pos);
    this.bytesRead += bytesRead;
    return buf.subarray(0, bytesRead);
  }

  /** Lists the boxes between start and end. */
  async children(start: number, end: number): Promise<Box[]> {
    const out: Box[] = [];
    let pos = start;
    while (pos + 8 <= end) {
      if (++this.boxes > MAX_BOXES) throw new ProbeError('too many boxes');
      const h = await this.read(pos, 16);
      if (h.length < 8) throw new ProbeError('truncated box header');
      const size32 = h.readUInt32BE(0);
      const type = h.toString('latin1', 4, 8);
      let headerSize = 8;
      let size: number;
      if (size32 === 1) {
        if (h.length < 16) throw new ProbeError('truncated box header');
        const big = h.readBigUInt64BE(8);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProbeError(`box ${printable(type)} too large`);
        size = Number(big);
        headerSize = 16;
      } else if (size32 === 0) {
        size = end - pos;
      } else {
        size = size32;
      }
      if (size < headerSize) throw new ProbeError(`box ${printable(type)} has an impossible size`);
      const boxEnd = pos + size;
      if (boxEnd > end) {
        // A truncated mdat at the end of a file still leaves the header readable; anything else is corrupt.
        if (type !== 'mdat') throw new ProbeError(`box ${printable(type)} runs past the end of its parent`);
      }
      out.push({ type, start: pos, headerSize, end: Math.min(boxEnd, end) });
      pos = boxEnd;
    }
    return out;
  }

  async body(box: Box): Promise<Buffer> {
    const len = box.end - box.start - box.headerSize;
    if (len > MAX_SMALL_BOX) throw new ProbeError(`box ${box.type} is unexpectedly large`);
    return this.read(box.start + box.headerSize, len);
  }
}

function printable(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type) ? type : 'with a non-text type';
}

interface Track {
  handler: string | null;
  format: string | null;
  objectType: number | null;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
}

/** Probes an open file. Throws ProbeError when it is not an MP4 this server can describe. */
export async function probeMp4(fh: FileHandle, size: number): Promise<ProbeResult> {
  const r = new Reader(fh, size);
  try {
    return await probeWith(r, size);
  } catch (err) {
    if (err instanceof ProbeError) err.bytesRead = r.bytesRead;
    throw err;
  }
}

async function probeWith(r: Reader, size: number): Promise<ProbeResult> {
  if (size < 8) throw new ProbeError('file too small to be an MP4');
  const top = await r.children(0, size);
  const first = top[0];
  if (!first || !TOP_LEVEL.has(first.type)) throw new ProbeError('not an MP4 file (no ftyp or moov box at the start)');

  let container: Container = 'mov';
  const ftyp = top.find((b) => b.type === 'ftyp');
  if (ftyp) {
    const body = await r.body(ftyp);
    container = body.toString('latin1', 0, 4) === 'qt  ' ? 'mov' : 'mp4';
  }
  const moovIndex = top.findIndex((b) => b.type === 'moov');
  const moov = top[moovIndex];
  if (!moov) throw new ProbeError('no moov box (the file is incomplete or fragmented)');
  const mdatIndex = top.findIndex((b) => b.type === 'mdat');
  const faststart = mdatIndex === -1 || moovIndex < mdatIndex;

  let movieDuration: number | null = null;
  const tracks: Track[] = [];
  for (const child of await r.children(moov.start + moov.headerSize, moov.end)) {
    if (child.type === 'mvhd') movieDuration = parseMvhd(await r.body(child));
    else if (child.type === 'trak') tracks.push(await parseTrak(r, child));
  }

  const video = tracks.find((t) => t.handler === 'vide');
  const audio = tracks.find((t) => t.handler === 'soun');
  const trackDurations = tracks.map((t) => t.durationSeconds ?? 0);
  const durationSeconds = movieDuration && movieDuration > 0 ? movieDuration : Math.max(0, ...trackDurations);
  if (!(durationSeconds > 0)) throw new ProbeError('the file has no duration');
  if (!video) throw new ProbeError('no video track');

  const media: MediaInfo = {
    durationSeconds: Math.round(durationSeconds * 1000) / 1000,
    videoCodec: codecName(video.format, null),
    audioCodec: audio ? codecName(audio.format, audio.objectType) : null,
    width: video.width,
    height: video.height,
    bitrate: Math.round((size * 8) / durationSeconds),
    faststart,
    container,
  };
  return { media, bytesRead: r.bytesRead, mimeType: container === 'mov' ? 'video/quicktime' : 'video/mp4' };
}

function parseMvhd(b: Buffer): number | null {
  // version(1) flags(3), then v0: ctime(4) mtime(4) timescale(4) duration(4); v1: ctime(8) mtime(8) timescale(4) duration(8)
  if (b.length < 20) return null;
  const v1 = b[0] === 1;
  if (v1 && b.length < 32) return null;
  const timescale = v1 ? b.readUInt32BE(20) : b.readUInt32BE(12);
  const duration = v1 ? Number(b.readBigUInt64BE(24)) : b.readUInt32BE(16);
  return timescale > 0 ? duration / timescale : null;
}

async function parseTrak(r: Reader, trak: Box): Promise<Track> {
  const t: Track = { handler: null, format: null, objectType: null, width: null, height: null, durationSeconds: null };
  for (const child of await r.children(trak.start + trak.headerSize, trak.end)) {
    if (child.type === 'tkhd') {
      const b = await r.body(child);
      // width and height are 16.16 fixed point after 52 bytes of fields that follow the times.
      const off = (b[0] === 1 ? 36 : 24) + 52;
      if (b.length >= off + 8) {
        const w = b.readUInt32BE(off) >>> 16;
        const h = b.readUInt32BE(off + 4) >>> 16;
        if (w > 0 && h > 0) {
          t.width = w;
          t.height = h;
        }
      }
    } else if (child.type === 'mdia') {
      await parseMdia(r, child, t);
    }
  }
  return t;
}

async function parseMdia(r: Reader, mdia: Box, t: Track): Promise<void> {
  for (const child of await r.children(mdia.start + mdia.headerSize, mdia.end)) {
    if (child.type === 'mdhd') {
      const d = parseMvhd(await r.body(child)); // mdhd shares mvhd's leading layout
      if (d !== null) t.durationSeconds = d;
    } else if (child.type === 'hdlr') {
      const b = await r.body(child);
      if (b.length >= 12) t.handler = b.toString('latin1', 8, 12);
    } else if (child.type === 'minf') {
      for (const m of await r.children(child.start + child.headerSize, child.end)) {
        if (m.type !== 'stbl') continue;
        for (const s of await r.children(m.start + m.headerSize, m.end)) {
          if (s.type === 'stsd') parseStsd(await r.body(s), t);
        }
      }
    }
  }
}

function parseStsd(b: Buffer, t: Track): void {
  // version/flags(4) entry_count(4), then the first sample entry: size(4) format(4) ...
  if (b.length < 16) return;
  const entrySize = b.readUInt32BE(8);
  t.format = b.toString('latin1', 12, 16);
  const entry = b.subarray(8, 8 + Math.min(entrySize, b.length - 8));
  if (entry.length >= 36 && (t.width === null || t.height === null)) {
    // VisualSampleEntry: 8 header + 6 reserved + 2 index + 16 pre-defined, then width(2) height(2).
    const w = entry.readUInt16BE(32);
    const h = entry.readUInt16BE(34);
    if (t.format?.startsWith('avc') || t.format?.startsWith('hv') || t.format?.startsWith('hev')) {
      if (w > 0 && h > 0) {
        t.width = w;
        t.height = h;
      }
    }
  }
  if (t.format === 'mp4a') t.objectType = esdsObjectType(entry);
}

/** Finds the DecoderConfigDescriptor's objectTypeIndication inside an mp4a entry's esds box. */
function esdsObjectType(entry: Buffer): number | null {
  // AudioSampleEntry is 36 bytes (v0) before its child boxes.
  let pos = 36;
  while (pos + 8 <= entry.length) {
    const size = entry.readUInt32BE(pos);
    const type = entry.toString('latin1', pos + 4, pos + 8);
    if (size < 8) return null;
    if (type === 'esds') return decoderObjectType(entry.subarray(pos + 12, pos + size));
    pos += size;
  }
  return null;
}

function decoderObjectType(d: Buffer): number | null {
  let pos = 0;
  const readLen = (): number => {
    let len = 0;
    for (let i = 0; i < 4 && pos < d.length; i++) {
      const byte = d[pos++] ?? 0;
      len = (len << 7) | (byte & 0x7f);
      if ((byte & 0x80) === 0) break;
    }
    return len;
  };
  if (d[pos++] !== 0x03) return null; // ES_Descriptor
  readLen();
  pos += 2; // ES_ID
  const flags = d[pos++] ?? 0;
  if (flags & 0x80) pos += 2; // dependsOn_ES_ID
  if (flags & 0x40) pos += 1 + (d[pos] ?? 0); // URL
  if (flags & 0x20) pos += 2; // OCR_ES_Id
  if (d[pos++] !== 0x04) return null; // DecoderConfigDescriptor
  readLen();
  return d[pos] ?? null;
}

const VIDEO_CODECS: Record<string, string> = {
  avc1: 'H.264', avc3: 'H.264', hvc1: 'HEVC', hev1: 'HEVC', av01: 'AV1', vp09: 'VP9', mp4v: 'MPEG-4 Visual',
  ap4h: 'ProRes', apcn: 'ProRes', apch: 'ProRes', apcs: 'ProRes', apco: 'ProRes', jpeg: 'Motion JPEG',
};
const AUDIO_CODECS: Record<string, string> = {
  'ac-3': 'AC-3', 'ec-3': 'E-AC-3', Opus: 'Opus', fLaC: 'FLAC', alac: 'ALAC', lpcm: 'PCM', sowt: 'PCM', twos: 'PCM',
};

/** A human codec name: "H.264" and "AAC" for what browsers play, else the real name or the fourcc. */
export function codecName(format: string | null, objectType: number | null): string | null {
  if (format === null) return null;
  if (format === 'mp4a') {
    // ISO/IEC 14496-1 objectTypeIndication: 0x40 MPEG-4 audio, 0x66-0x68 MPEG-2 AAC, 0x69/0x6B MP3.
    if (objectType === null || objectType === 0x40 || (objectType >= 0x66 && objectType <= 0x68)) return 'AAC';
    if (objectType === 0x69 || objectType === 0x6b) return 'MP3';
    return `mp4a (0x${objectType.toString(16)})`;
  }
  return VIDEO_CODECS[format] ?? AUDIO_CODECS[format] ?? format.trim();
}
