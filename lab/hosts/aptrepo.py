"""A local file-based apt repository that serves Open vSwitch to lab nodes without it.

Nodes have no internet. On the controller, ``apt-get download`` fetches exactly the packages a
node lacks for ``openvswitch-switch`` (asked of the node's own apt with ``--print-uris``) into a
download cache shared by labs; the repository is indexed here (Packages, Release) and the nodes'
apt sources point only at it, so the install role runs real ``apt-get update`` / ``install``.
"""
import email.utils
import fcntl
import gzip
import hashlib
import os
import pathlib
import re
import stat
import urllib.parse

from lab.hosts import system

PACKAGES = ('openvswitch-switch',)
HOST_ARCHIVES = pathlib.Path('/var/cache/apt/archives')
URI_LINE = re.compile(r"^'(?P<uri>[^']+)'\s+(?P<file>\S+\.deb)\s+\d+")


def missing_packages(uris_output):
    """``apt-get --print-uris install`` output -> [(package, version, deb file name)]."""
    found = []
    for line in uris_output.splitlines():
        match = URI_LINE.match(line.strip())
        if match:
            file_name = urllib.parse.unquote(match.group('file'))
            package, version = file_name.split('_')[:2]
            found.append((package, version, file_name))
    return found


def release_text(repo_dir, files):
    """A flat repository's Release file with the checksums apt verifies."""
    lines = ['Origin: vmnet-lab', 'Label: vmnet-lab', 'Suite: lab', 'Codename: lab',
             'Date: %s' % email.utils.formatdate(usegmt=True), 'Architectures: all amd64 arm64',
             'Description: vmnet lab: Open vSwitch packages for nodes without internet']
    for field, algorithm in (('MD5Sum', hashlib.md5), ('SHA256', hashlib.sha256)):
        lines.append('%s:' % field)
        for name in files:
            data = (repo_dir / name).read_bytes()
            lines.append(' %s %d %s' % (algorithm(data).hexdigest(), len(data), name))
    return '\n'.join(lines) + '\n'


def build_repository(repo_dir, debs):
    """Hard-link (or copy) *debs* into *repo_dir* and index it (Packages, Packages.gz, Release)."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        target = repo_dir / deb.name
        if not target.exists():
            try:
                os.link(deb, target)
            except OSError:
                target.write_bytes(deb.read_bytes())
    index = system.run(['dpkg-scanpackages', '--multiversion', '.', '/dev/null'], cwd=str(repo_dir)).stdout
    (repo_dir / 'Packages').write_text(index, encoding='utf-8')
    with gzip.open(repo_dir / 'Packages.gz', 'wt', encoding='utf-8') as handle:
        handle.write(index)
    (repo_dir / 'Release').write_text(release_text(repo_dir, ['Packages', 'Packages.gz']), encoding='utf-8')
    return repo_dir


def fetch(cache_dir, wanted):
    """``apt-get download`` the (package, version, file) entries not yet in *cache_dir*."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Labs may start at once: one download into the shared cache at a time.
    with open(cache_dir / '.lock', 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # By name: the node's package lists are a copy of the controller's, so the candidate
        # versions agree (file names carry no epoch, so name=version could not be rebuilt).
        for _package, _version, file_name in wanted:
            in_host_cache = HOST_ARCHIVES / file_name
            if in_host_cache.exists() and not (cache_dir / file_name).exists():
                (cache_dir / file_name).write_bytes(in_host_cache.read_bytes())
        todo = [package for package, _version, file_name in wanted if not (cache_dir / file_name).exists()]
        if todo:
            result = system.run(['apt-get', 'download', '-q'] + todo, cwd=str(cache_dir), check=False, timeout=600)
            if result.returncode != 0:
                raise RuntimeError('apt-get download of %s on the controller failed (the lab needs the Debian archive once, '
                                   'then its cache): %s' % (', '.join(todo), result.stderr.strip()[-1500:]))
    debs = []
    for _package, _version, file_name in wanted:
        path = cache_dir / file_name
        if not path.exists():
            raise RuntimeError('%s is missing from %s after apt-get download' % (file_name, cache_dir))
        debs.append(path)
    return debs


def readable_by_others(path):
    """True when an unprivileged user (apt's download sandbox, _apt) can read *path*."""
    path = pathlib.Path(path).resolve()
    for directory in [path] + list(path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH or (directory == path and not mode & stat.S_IROTH):
            return False
    return True


SANDBOX_AS_ROOT = ('// vmnet lab: the local repository lives in a directory apt\'s _apt user cannot read.\n'
                   'APT::Sandbox::User "root";\n')


def sources_list(repo_dir):
    return '# vmnet lab: the node has no internet; its only source is the lab repository.\ndeb [trusted=yes] file:%s ./\n' % repo_dir
