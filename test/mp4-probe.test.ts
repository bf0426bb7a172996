/**
 * The MP4 box probe against real clips (the bundled samples and ffmpeg-made ones) and against broken files
 * built byte by byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, readFile, truncate, writeFile, appendFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { codecName, probeMp4, ProbeError, type ProbeResult } from '../app/library/mp4-probe.ts';
import { PROJECT_ROOT } from '../app/config/config.ts';
import { SAMPLE_CLIP, tempDir } from './helpers/fixtures.ts';

const run = promisify(execFile);
const HEADS_UP = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-heads-up.mp4');

async function probeFile(file: string): Promise<ProbeResult> {
  const fh = await open(file, 'r');
  try {
    return await probeMp4(fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

/** Probes bytes written to a temp file; resolves to the ProbeError's message, or fails the test when it probes. */
async function probeError(bytes: Buffer, name = 'x.mp4'): Promise<string> {
  const file = path.join(tmp.dir, name);
  await writeFile(file, bytes);
  try {
    await probeFile(file);
  } catch (err) {
    assert.ok(err instanceof ProbeError, `expected a ProbeError, got ${String(err)}`);
    assert.ok(err.message.length > 0, 'a ProbeError must say why');
    return err.message;
  }
  assert.fail('the probe accepted a broken file');
}

/** One ISO BMFF box with a 32-bit size. */
function box(type: string, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + payload.length, 0);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, payload]);
}

/** The top-level boxes of a file: type → its bytes (32-bit sizes only, enough for the samples). */
function topLevel(file: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos + 8 <= file.length) {
    const size = file.readUInt32BE(pos);
    const type = file.toString('latin1', pos + 4, pos + 8);
    out.set(type, file.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

const ffmpegArgs = (out: string, extra: string[] = []): string[] => [
  '-v', 'error', '-y',
  '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15',
  '-f', 'lavfi', '-i', 'sine',
  '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', ...extra, out,
];

let tmp: { dir: string; cleanup: () => Promise<void> };
let moovAtEnd: string;
let quicktime: string;
let audioOnly: string;

before(async () => {
  tmp = await tempDir();
  moovAtEnd = path.join(tmp.dir, 'moov-at-end.mp4');
  quicktime = path.join(tmp.dir, 'clip.mov');
  audioOnly = path.join(tmp.dir, 'audio-only.mp4');
  // No +faststart: ffmpeg writes mdat first and moov at the end.
  await Promise.all([
    run('ffmpeg', ffmpegArgs(moovAtEnd)),
    run('ffmpeg', ffmpegArgs(quicktime)),
    run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine', '-t', '1', '-c:a', 'aac', audioOnly]),
  ]);
});
after(() => tmp.cleanup());

describe('when probing the bundled samples (H.264/AAC, 640x360, faststart)', () => {
  for (const [file, duration] of [
    [SAMPLE_CLIP, 30],
    [HEADS_UP, 20],
  ] as const) {
    it(`${path.basename(file)}: codecs, size, duration ≈ ${duration} s, faststart`, async () => {
      const r = await probeFile(file);
      const size = (await stat(file)).size;
      assert.equal(r.media.videoCodec, 'H.264');
      assert.equal(r.media.audioCodec, 'AAC');
      assert.equal(r.media.width, 640);
      assert.equal(r.media.height, 360);
      assert.ok(Math.abs(r.media.durationSeconds - duration) < 0.2, `duration ${r.media.durationSeconds}`);
      assert.equal(r.media.faststart, true);
      assert.equal(r.media.container, 'mp4');
      assert.equal(r.mimeType, 'video/mp4');
      // Average bitrate over the whole file.
      assert.ok(Math.abs(r.media.bitrate - (size * 8) / r.media.durationSeconds) < r.media.bitrate * 0.01);
    });
  }
});

describe('when moov sits after mdat (made without +faststart)', () => {
  it('the file is described and faststart is false', async () => {
    const bytes = await readFile(moovAtEnd);
    const order = [...topLevel(bytes).keys()];
    assert.ok(order.indexOf('mdat') < order.indexOf('moov'), 'the fixture should have moov at the end');
    const r = await probeFile(moovAtEnd);
    assert.equal(r.media.faststart, false);
    assert.equal(r.media.videoCodec, 'H.264');
    assert.equal(r.media.audioCodec, 'AAC');
    assert.equal(r.media.width, 320);
    assert.equal(r.media.height, 240);
    assert.ok(Math.abs(r.media.durationSeconds - 3) < 0.2, `duration ${r.media.durationSeconds}`);
  });
  it('a QuickTime file (brand "qt  ") is a mov served as video/quicktime', async () => {
    const r = await probeFile(quicktime);
    assert.equal(r.media.container, 'mov');
    assert.equal(r.mimeType, 'video/quicktime');
    assert.equal(r.media.videoCodec, 'H.264');
    assert.equal(r.media.faststart, false);
  });
  it('an mdat with a 64-bit size before moov is skipped without reading it', async () => {
    const boxes = topLevel(await readFile(SAMPLE_CLIP));
    const payload = Buffer.alloc(100_000, 0xab);
    const header = Buffer.alloc(16);
    header.writeUInt32BE(1, 0);
    header.write('mdat', 4, 'latin1');
    header.writeBigUInt64BE(BigInt(16 + payload.length), 8);
    const file = path.join(tmp.dir, 'largesize.mp4');
    await writeFile(file, Buffer.concat([boxes.get('ftyp')!, header, payload, boxes.get('moov')!]));
    const r = await probeFile(file);
    assert.equal(r.media.faststart, false);
    assert.equal(r.media.videoCodec, 'H.264');
    assert.ok(r.bytesRead < 16 * 1024, `read ${r.bytesRead} bytes`);
  });
});

describe('when the last box has size 0 ("to the end of the file", ISO/IEC 14496-12 §4.2)', () => {
  it('a moov written with size 0 after mdat is read to the end of the file', async () => {
    const boxes = topLevel(await readFile(SAMPLE_CLIP));
    const moov = Buffer.from(boxes.get('moov')!);
    moov.writeUInt32BE(0, 0);
    const file = path.join(tmp.dir, 'size-zero.mp4');
    await writeFile(file, Buffer.concat([boxes.get('ftyp')!, box('mdat', Buffer.alloc(50_000)), moov]));
    const r = await probeFile(file);
    assert.equal(r.media.faststart, false);
    assert.equal(r.media.videoCodec, 'H.264');
    assert.ok(Math.abs(r.media.durationSeconds - 30) < 0.2);
  });
});

describe('when the file is large, the probe reads only box headers and the small boxes', () => {
  it('a few KiB for each sample and for the moov-at-end clip', async () => {
    for (const file of [SAMPLE_CLIP, HEADS_UP, moovAtEnd]) {
      const r = await probeFile(file);
      assert.ok(r.bytesRead > 0);
      assert.ok(r.bytesRead < 8 * 1024, `${path.basename(file)}: read ${r.bytesRead} bytes`);
    }
  });
  it('the same few KiB when 256 MiB of free space follows the clip (sparse, never read)', async () => {
    const file = path.join(tmp.dir, 'padded.mp4');
    const clip = await readFile(SAMPLE_CLIP);
    const pad = 256 * 1024 * 1024;
    const header = Buffer.alloc(8);
    header.writeUInt32BE(pad, 0);
    header.write('free', 4, 'latin1');
    await writeFile(file, clip);
    await appendFile(file, header);
    await truncate(file, clip.length + pad);
    const small = await probeFile(SAMPLE_CLIP);
    const big = await probeFile(file);
    assert.equal(big.media.durationSeconds, small.media.durationSeconds);
    assert.ok(big.bytesRead < 8 * 1024, `read ${big.bytesRead} bytes of a ${clip.length + pad}-byte file`);
    assert.ok(big.media.bitrate > small.media.bitrate * 10, 'the bitrate is over the whole file');
  });
});

describe('when the input is not a readable MP4 (ProbeError with a reason)', () => {
  it('an empty file', async () => {
    assert.match(await probeError(Buffer.alloc(0)), /too small/);
  });
  it('a text file renamed .mp4', async () => {
    await probeError(Buffer.from('This is a note about the final table, not a video.\n'.repeat(20)));
  });
  it('a truncated header (only part of ftyp)', async () => {
    const clip = await readFile(SAMPLE_CLIP);
    await probeError(clip.subarray(0, 12));
  });
  it('a file cut off inside moov', async () => {
    const clip = await readFile(SAMPLE_CLIP);
    const boxes = topLevel(clip);
    const cut = boxes.get('ftyp')!.length + 200;
    assert.match(await probeError(clip.subarray(0, cut)), /moov|past the end/);
  });
  it('a box whose size is smaller than its own header', async () => {
    const b = Buffer.alloc(32);
    b.writeUInt32BE(4, 0);
    b.write('ftyp', 4, 'latin1');
    assert.match(await probeError(b), /impossible size/);
  });
  it('a 64-bit size smaller than the 16-byte header', async () => {
    const b = Buffer.alloc(32);
    b.writeUInt32BE(1, 0);
    b.write('ftyp', 4, 'latin1');
    b.writeBigUInt64BE(8n, 8);
    assert.match(await probeError(b), /impossible size/);
  });
  it('a 64-bit size past 2^53', async () => {
    const b = Buffer.alloc(32);
    b.writeUInt32BE(1, 0);
    b.write('mdat', 4, 'latin1');
    b.writeBigUInt64BE(2n ** 60n, 8);
    assert.match(await probeError(b), /too large/);
  });
  it('a box that runs past the end of the file', async () => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(10_000, 0);
    b.write('moov', 4, 'latin1');
    assert.match(await probeError(b), /past the end/);
  });
  it('a 64-bit header cut short', async () => {
    const b = Buffer.alloc(12);
    b.writeUInt32BE(1, 0);
    b.write('ftyp', 4, 'latin1');
    assert.match(await probeError(b), /truncated/);
  });
  it('no moov (ftyp and mdat only)', async () => {
    const bytes = Buffer.concat([box('ftyp', Buffer.from('isom\0\0\x02\0isom', 'latin1')), box('mdat', Buffer.alloc(100))]);
    assert.match(await probeError(bytes), /no moov/);
  });
  it('a moov without any track or duration', async () => {
    const mvhd = box('mvhd', Buffer.alloc(100)); // timescale 0: no duration
    const bytes = Buffer.concat([box('ftyp', Buffer.from('isom\0\0\x02\0isom', 'latin1')), box('moov', mvhd)]);
    assert.match(await probeError(bytes), /no duration/);
  });
  it('audio only (no video track)', async () => {
    await assert.rejects(probeFile(audioOnly), (err: unknown) => err instanceof ProbeError && /no video track/.test(err.message));
  });
  it('a first box of a type no MP4 starts with', async () => {
    assert.match(await probeError(box('abcd', Buffer.alloc(8))), /not an MP4/);
  });
  it('a box type that is not text is reported without garbage characters', async () => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(3, 0);
    b.writeUInt32BE(0x00ff01fe, 4);
    const msg = await probeError(b);
    assert.doesNotMatch(msg, /[\x00-\x1f\x7f-\xff]/);
  });
  it('endless tiny boxes stop at a limit', async () => {
    const free = box('free');
    const bytes = Buffer.concat([box('ftyp', Buffer.from('isom\0\0\x02\0isom', 'latin1')), ...Array.from({ length: 10_050 }, () => free)]);
    assert.match(await probeError(bytes), /too many boxes/);
  });
  it('a header box (mvhd) larger than any real one', async () => {
    const boxes = topLevel(await readFile(SAMPLE_CLIP));
    const hugeMvhd = box('mvhd', Buffer.alloc(70 * 1024));
    assert.match(await probeError(Buffer.concat([boxes.get('ftyp')!, box('moov', hugeMvhd)])), /unexpectedly large/);
  });
});

describe('codec names (what the console shows)', () => {
  it('names browsers play and the rest by their real name', () => {
    assert.equal(codecName('avc1', null), 'H.264');
    assert.equal(codecName('avc3', null), 'H.264');
    assert.equal(codecName('hvc1', null), 'HEVC');
    assert.equal(codecName('hev1', null), 'HEVC');
    assert.equal(codecName('mp4a', null), 'AAC');
    assert.equal(codecName('mp4a', 0x40), 'AAC');
    assert.equal(codecName('mp4a', 0x67), 'AAC');
    assert.equal(codecName('mp4a', 0x6b), 'MP3');
    assert.equal(codecName('mp4a', 0x69), 'MP3');
    assert.equal(codecName('mp4a', 0x20), 'mp4a (0x20)');
    assert.equal(codecName('ac-3', null), 'AC-3');
    assert.equal(codecName('zzz ', null), 'zzz');
    assert.equal(codecName(null, null), null);
  });
});

describe('when a probe gives up', () => {
  it('reports what it had read, so a failed probe’s cost is counted', async () => {
    const tmp = await tempDir();
    try {
      const file = `${tmp.dir}/no-moov.mp4`;
      // A valid ftyp box, then an mdat box, and no moov at all.
      const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from('ftypisom'), Buffer.alloc(4)]);
      const mdat = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('mdat'), Buffer.alloc(16)]);
      await writeFile(file, Buffer.concat([ftyp, mdat]));
      const fh = await open(file, 'r');
      try {
        await assert.rejects(probeMp4(fh, 40), (err: unknown) => err instanceof ProbeError && /no moov/.test(err.message) && err.bytesRead > 0 && err.bytesRead < 100);
      } finally {
        await fh.close();
      }
    } finally {
      await tmp.cleanup();
    }
  });
});
