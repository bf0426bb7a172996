/**
 * Which files sit on a local file system (a disk, memory) rather than a network mount. Work on a local
 * file's open handle (fstat, a send from its cached pages) can be done on the event loop: it waits on
 * nothing. A network mount (NFS, SMB, FUSE) may ask its server even for cached data, so its handles are
 * only ever used from the thread pool. Learnt per device from one statfs(2) (f_type magic numbers).
 */
import { statfs } from 'node:fs/promises';

/** Local file systems by statfs(2) f_type: anything else (NFS, SMB, FUSE, ...) counts as a network mount. */
const LOCAL_FS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x2011bab0, // exfat
  0x4d44, // vfat
  0x7366746e, // ntfs3
]);

const deviceIsLocal = new Map<number, boolean>();

/**
 * Whether the file system of device `dev` is local, as learnt from one statfs(2) of a path on it. Until the
 * first answer lands (in the background, the first time a device is seen) it says false: that file's first
 * response goes through the pool.
 */
export function isLocalDevice(dev: number, pathOnIt: string): boolean {
  const known = deviceIsLocal.get(dev);
  if (known !== undefined) return known;
  deviceIsLocal.set(dev, false);
  statfs(pathOnIt).then(
    (s) => void deviceIsLocal.set(dev, LOCAL_FS.has(Number(s.type))),
    () => void deviceIsLocal.delete(dev),
  );
  return false;
}

