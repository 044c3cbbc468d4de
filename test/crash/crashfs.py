#!/usr/bin/env python3
"""crashfs: a pass-through FUSE file system that journals what a power cut would keep.

Usage: crashfs.py BACKING MOUNTPOINT JOURNAL_DIR [--ignore-fsyncdir REL_DIR] [--slow-fsyncdir PREFIX] [--faults FILE]

Every operation goes through to BACKING. JOURNAL_DIR gets, in order, what reached stable storage: a
file's written ranges when that file is fsynced/fdatasynced (or written through an O_DSYNC
descriptor), a directory's entries when that directory is fsynced; nothing else. Each sync has a
sequence number and the CLOCK_MONOTONIC time it began. Entries name objects (one per inode the
process creates), so a name persisted in two directories is one file. lib/journal.mjs rebuilds the
image after any sync. The model and why FUSE: README.md beside this file.

--ignore-fsyncdir: the sync of that directory does nothing, as if the code had forgotten it.
--slow-fsyncdir: the sync of a directory under PREFIX waits (at most SLOW_WAIT_S) until a sync of a
directory elsewhere has completed, as on a disk slow on that directory; any order it makes is one a
real disk may make.
--faults: while FILE (outside the mount) holds lines `ERRNO /prefix` (say `EIO /files`), every change
under that prefix (create, write, fsync, truncate, mkdir, link, rename) fails with that errno: a disk
going bad under one directory, switched on and off by the test that writes FILE.
"""
import errno
import json
import os
import shutil
import stat
import sys
import threading
import time

try:  # Debian's python3-fusepy names the module fusepy; the one on PyPI names it fuse.
    import fusepy as fuse
except ImportError:  # pragma: no cover
    import fuse

SLOW_WAIT_S = 0.5
STRIP_FLAGS = os.O_APPEND | os.O_SYNC | os.O_DSYNC | os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_ACCMODE
STAT_FIELDS = ('st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_size', 'st_atime', 'st_mtime', 'st_ctime', 'st_ino', 'st_blocks')


class Journal:
    def __init__(self, folder):
        os.makedirs(os.path.join(folder, 'patches'), exist_ok=True)
        os.makedirs(os.path.join(folder, 'base'), exist_ok=True)
        self.folder = folder
        self.out = open(os.path.join(folder, 'journal.jsonl'), 'a', encoding='utf-8')
        self.seq = 0

    def line(self, **record):
        self.out.write(json.dumps(record, separators=(',', ':')) + '\n')
        self.out.flush()

    def next_sync(self):
        self.seq += 1
        return self.seq, time.monotonic_ns()


class Faults:
    """The --faults rules, read again whenever FILE changes (a stat per checked operation)."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.rules = []

    def check(self, path):
        if self.path is None or not path:
            return
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self.stamp:
            rules = []
            if stamp is not None:
                with open(self.path, encoding='utf-8') as f:
                    for line in f:
                        if line.strip():
                            name, prefix = line.split()
                            rules.append((getattr(errno, name), prefix.rstrip('/') or '/'))
            self.rules, self.stamp = rules, stamp
        for code, prefix in self.rules:
            if prefix == '/' or path == prefix or path.startswith(prefix + '/'):
                raise fuse.FuseOSError(code)


class CrashFS(fuse.Operations):
    use_ns = True

    def __init__(self, backing, journal, ignore_fsyncdir=None, slow_fsyncdir=None, faults=None):
        self.faults = Faults(faults)
        self.root = os.path.realpath(backing)
        self.journal = journal
        self.ignore = ('/' + ignore_fsyncdir.strip('/')) if ignore_fsyncdir else None
        self.slow = slow_fsyncdir
        self.dir_syncs_elsewhere = threading.Condition()
        self.dir_syncs_elsewhere_done = 0
        self.mutex = threading.RLock()  # namespace changes and syncs are atomic with their bookkeeping
        self.obj_of_ino = {}  # live inode -> object; a reused inode is remapped when it is created
        self.fh_obj = {}  # open descriptor -> object (survives unlink and inode reuse)
        self.fh_dsync = set()
        self.dirty = {}  # object -> {'ranges': [[start, end]], 'low': smallest size since its last sync}
        self.durable_size = {}
        self.next_obj = 0
        self._scan()

    # -- objects and the initial image --------------------------------------------------------

    def _new_obj(self, st, kind, target=None):
        self.next_obj += 1
        obj = self.next_obj
        self.obj_of_ino[st.st_ino] = obj
        self.durable_size[obj] = 0
        self.journal.line(op='obj', obj=obj, type=kind, **({'target': target} if target is not None else {}))
        return obj

    def _kind(self, st):
        return 'dir' if stat.S_ISDIR(st.st_mode) else 'symlink' if stat.S_ISLNK(st.st_mode) else 'file'

    def _scan(self):
        """What exists at mount is durable: it is the image a power cut before any sync leaves."""
        root_st = os.lstat(self.root)
        self.journal.line(op='root', obj=self._new_obj(root_st, 'dir'))
        for dirpath, dirnames, filenames in os.walk(self.root):
            entries = {}
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                obj = self.obj_of_ino.get(st.st_ino)
                if obj is None:
                    kind = self._kind(st)
                    obj = self._new_obj(st, kind, os.readlink(path) if kind == 'symlink' else None)
                    if kind == 'file':
                        shutil.copyfile(path, os.path.join(self.journal.folder, 'base', str(obj)))
                        self.durable_size[obj] = st.st_size
                        self.journal.line(op='base', obj=obj, path='base/%d' % obj)
                entries[name] = obj
            self.journal.line(op='sync', seq=0, t=0, kind='dir', obj=self.obj_of_ino[os.lstat(dirpath).st_ino], entries=entries)

    def _obj(self, path):
        st = os.lstat(path)
        obj = self.obj_of_ino.get(st.st_ino)
        return obj if obj is not None else self._new_obj(st, self._kind(st))

    def full(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    # -- data: dirty ranges, made durable by fsync --------------------------------------------

    def _touch(self, obj, start, end):
        state = self.dirty.setdefault(obj, {'ranges': [], 'low': None})
        ranges = state['ranges']
        if ranges and ranges[-1][1] == start:
            ranges[-1][1] = end  # sequential writes: one range
        else:
            ranges.append([start, end])

    def _sync_file(self, fh, obj, only=None):
        """Persists the object's dirty ranges (or only `only`, for an O_DSYNC write) as one patch."""
        seq, t = self.journal.next_sync()
        size = os.fstat(fh).st_size
        state = self.dirty.get(obj, {'ranges': [], 'low': None})
        ranges = [list(only)] if only else sorted(state['ranges'])
        merged = []
        for start, end in ranges:
            end = min(end, size)
            if start >= end:
                continue
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        patch = 'patches/%d.bin' % seq
        with open(os.path.join(self.journal.folder, patch), 'wb') as out:
            for start, end in merged:
                out.write(os.pread(fh, end - start, start))
        cut = None
        if only:
            size = max(self.durable_size.get(obj, 0), merged[-1][1] if merged else 0)
        else:
            if state['low'] is not None and state['low'] < self.durable_size.get(obj, 0):
                cut = state['low']
            self.dirty.pop(obj, None)
        self.durable_size[obj] = size
        self.journal.line(op='sync', seq=seq, t=t, kind='file', obj=obj, cut=cut, size=size, ranges=merged, patch=patch)

    # -- file handles ---------------------------------------------------------------------------

    def _register(self, fd, obj, flags):
        self.fh_obj[fd] = obj
        if flags & (os.O_SYNC | os.O_DSYNC):
            self.fh_dsync.add(fd)
        return fd

    def open(self, path, flags):
        with self.mutex:
            # Always read-write and positional: syncs read the ranges back, and the kernel gives offsets.
            fd = os.open(self.full(path), (flags & ~STRIP_FLAGS) | os.O_RDWR)
            return self._register(fd, self._obj(self.full(path)), flags)

    def create(self, path, mode, fi=None):
        self.faults.check(path)
        with self.mutex:
            full = self.full(path)
            existed = os.path.lexists(full)
            fd = os.open(full, os.O_RDWR | os.O_CREAT, mode)
            obj = self._obj(full) if existed else self._new_obj(os.fstat(fd), 'file')
            return self._register(fd, obj, os.O_RDWR)

    def release(self, path, fh):
        with self.mutex:
            self.fh_obj.pop(fh, None)
            self.fh_dsync.discard(fh)
            os.close(fh)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        self.faults.check(path)
        written = os.pwrite(fh, data, offset)
        with self.mutex:  # registered after the write, so a concurrent fsync never drops it
            obj = self.fh_obj[fh]
            if fh in self.fh_dsync:
                self._sync_file(fh, obj, only=(offset, offset + written))
            else:
                self._touch(obj, offset, offset + written)
        return written

    def truncate(self, path, length, fh=None):
        self.faults.check(path)
        with self.mutex:
            if fh is not None:
                os.ftruncate(fh, length)
                obj = self.fh_obj[fh]
            else:
                os.truncate(self.full(path), length)
                obj = self._obj(self.full(path))
            state = self.dirty.setdefault(obj, {'ranges': [], 'low': None})
            state['low'] = length if state['low'] is None else min(state['low'], length)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        self.faults.check(path)
        with self.mutex:
            self._sync_file(fh, self.fh_obj[fh])

    # -- directories: entries made durable by fsyncdir -------------------------------------------

    def opendir(self, path):
        return os.open(self.full(path), os.O_RDONLY | os.O_DIRECTORY)

    def releasedir(self, path, fh):
        os.close(fh)

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self.full(path))

    def fsyncdir(self, path, datasync, fh):
        slow = self.slow is not None and path.startswith(self.slow)
        if slow:  # waits before it takes its place in the order, so others overtake it
            with self.dir_syncs_elsewhere:
                seen = self.dir_syncs_elsewhere_done
                self.dir_syncs_elsewhere.wait_for(lambda: self.dir_syncs_elsewhere_done > seen, SLOW_WAIT_S)
        try:
            self._fsyncdir(path, fh)
        finally:
            if not slow:
                with self.dir_syncs_elsewhere:
                    self.dir_syncs_elsewhere_done += 1
                    self.dir_syncs_elsewhere.notify_all()

    def _fsyncdir(self, path, fh):
        with self.mutex:
            seq, t = self.journal.next_sync()
            if self.ignore is not None and path == self.ignore:
                self.journal.line(op='sync', seq=seq, t=t, kind='ignored', path=path)
                return
            entries = {}
            for name in os.listdir(fh):
                st = os.stat(name, dir_fd=fh, follow_symlinks=False)
                entries[name] = self.obj_of_ino.get(st.st_ino) or self._new_obj(st, self._kind(st))
            self.journal.line(op='sync', seq=seq, t=t, kind='dir', obj=self._obj(self.full(path)), entries=entries, path=path)

    def mkdir(self, path, mode):
        self.faults.check(path)
        with self.mutex:
            os.mkdir(self.full(path), mode)
            self._new_obj(os.lstat(self.full(path)), 'dir')

    def mknod(self, path, mode, dev):
        with self.mutex:
            os.mknod(self.full(path), mode, dev)
            self._new_obj(os.lstat(self.full(path)), 'file')

    def symlink(self, target, source):
        with self.mutex:
            os.symlink(source, self.full(target))
            self._new_obj(os.lstat(self.full(target)), 'symlink', source)

    def link(self, target, source):
        self.faults.check(target)
        with self.mutex:
            os.link(self.full(source), self.full(target))

    def unlink(self, path):
        with self.mutex:
            os.unlink(self.full(path))

    def rmdir(self, path):
        with self.mutex:
            os.rmdir(self.full(path))

    def rename(self, old, new):
        self.faults.check(new)
        with self.mutex:
            os.rename(self.full(old), self.full(new))

    # -- plain pass-through ----------------------------------------------------------------------

    def getattr(self, path, fh=None):
        st = os.fstat(fh) if fh is not None else os.lstat(self.full(path))
        attrs = {key: getattr(st, key) for key in STAT_FIELDS}
        for key in ('st_atime', 'st_mtime', 'st_ctime'):
            attrs[key] = getattr(st, key + '_ns')
        return attrs

    def access(self, path, amode):
        if not os.access(self.full(path), amode):
            raise fuse.FuseOSError(errno.EACCES)

    def readlink(self, path):
        return os.readlink(self.full(path))

    def chmod(self, path, mode):
        os.chmod(self.full(path), mode)

    def chown(self, path, uid, gid):
        os.lchown(self.full(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self.full(path), ns=times, follow_symlinks=False)

    def statfs(self, path):
        sv = os.statvfs(self.full(path))
        return {key: getattr(sv, key) for key in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}

    def init(self, path):
        sys.stdout.write('ready\n')  # the mount is live: the driver waits for this line
        sys.stdout.flush()

    def destroy(self, path):
        self.journal.line(op='end', syncs=self.journal.seq)


def main(argv):
    args = argv[1:]
    options = {}
    for flag in ('--ignore-fsyncdir', '--slow-fsyncdir', '--faults'):
        if flag in args:
            at = args.index(flag)
            options[flag] = args[at + 1]
            del args[at:at + 2]
    backing, mountpoint, journal_dir = args
    ops = CrashFS(backing, Journal(journal_dir), options.get('--ignore-fsyncdir'), options.get('--slow-fsyncdir'), options.get('--faults'))
    # hard_remove: no .fuse_hidden renames of open, unlinked files (they would be entries of their own).
    # No direct_io: LMDB reads through mmap. big_writes: 128 KiB writes instead of 4 KiB.
    fuse.FUSE(ops, mountpoint, foreground=True, nothreads=False, fsname='crashfs', hard_remove=True, big_writes=True, max_write=131072)


if __name__ == '__main__':
    main(sys.argv)
