//! What a backup archive may hold before it is put onto a host: only the OpenClaw state
//! under `.openclaw/`, with no absolute paths, no `..`, no links that lead out of it and
//! no device files. The archive comes from a host whose user controls what `tar` ran, so
//! it is read here, on clawops' side, member by member, before any byte is uploaded.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The folder every member must be inside.
const ROOT: &str = ".openclaw";

/// Checks every member of the tar.gz `archive`; the first bad one is named.
pub fn check(archive: &[u8]) -> Result<usize, String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = tar
        .entries()
        .map_err(|e| format!("the backup is not a tar.gz archive: {e}"))?;
    let mut count = 0;
    for entry in entries {
        let entry = entry.map_err(|e| format!("the backup archive is damaged: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("a member has an unreadable name: {e}"))?
            .into_owned();
        inside(&path).map_err(|why| format!("member {}: {why}", path.display()))?;
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular
            | tar::EntryType::Directory
            | tar::EntryType::Continuous
            | tar::EntryType::GNULongName
            | tar::EntryType::XHeader
            | tar::EntryType::XGlobalHeader => {}
            tar::EntryType::Symlink => {
                let target = link(&entry, &path)?;
                let parent = path.parent().unwrap_or(Path::new(""));
                if target.is_absolute() {
                    return Err(format!(
                        "member {}: a link to the absolute path {}",
                        path.display(),
                        target.display()
                    ));
                }
                leads_inside(&parent.join(&target)).map_err(|_| {
                    format!(
                        "member {}: a link that leads out of {ROOT}/ ({})",
                        path.display(),
                        target.display()
                    )
                })?;
            }
            tar::EntryType::Link => {
                let target = link(&entry, &path)?;
                inside(&target).map_err(|_| {
                    format!(
                        "member {}: a hard link to {} outside {ROOT}/",
                        path.display(),
                        target.display()
                    )
                })?;
            }
            other => {
                return Err(format!(
                    "member {}: a {other:?} entry, which an OpenClaw state never holds",
                    path.display()
                ));
            }
        }
        count += 1;
    }
    if count == 0 {
        return Err("the backup archive is empty".into());
    }
    Ok(count)
}

fn link<R: Read>(entry: &tar::Entry<'_, R>, path: &Path) -> Result<PathBuf, String> {
    entry
        .link_name()
        .map_err(|e| format!("member {}: unreadable link: {e}", path.display()))?
        .map(|t| t.into_owned())
        .ok_or_else(|| format!("member {}: a link without a target", path.display()))
}

/// Whether member `path`, taken relative to the home, is inside `.openclaw/`: no `..`
/// at all (tar would follow it), nothing absolute.
fn inside(path: &Path) -> Result<(), &'static str> {
    resolve(path, false)
}

/// Whether a link's target, resolved lexically from the link's folder, stays inside
/// `.openclaw/`.
fn leads_inside(path: &Path) -> Result<(), &'static str> {
    resolve(path, true)
}

fn resolve(path: &Path, climb: bool) -> Result<(), &'static str> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir if climb => {
                parts.pop();
                if parts.is_empty() {
                    return Err("a path that climbs out with ..");
                }
            }
            Component::ParentDir => return Err("a path with .."),
            Component::RootDir | Component::Prefix(_) => return Err("an absolute path"),
        }
    }
    match parts.first() {
        Some(first) if *first == ROOT => Ok(()),
        _ => Err("outside .openclaw/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(members: &[(&str, tar::EntryType, Option<&str>)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (path, kind, target) in members {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(0);
            h.set_mode(0o600);
            // Write names raw, as a hostile archive would (set_path refuses `..`).
            let name = &mut h.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            if let Some(t) = target {
                let link = &mut h.as_old_mut().linkname;
                link[..t.len()].copy_from_slice(t.as_bytes());
            }
            h.set_cksum();
            b.append(&h, std::io::empty()).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    use tar::EntryType::{Directory, Link, Regular, Symlink};

    #[test]
    fn hardening_08_the_openclaw_state_passes() {
        let ok = archive(&[
            (".openclaw/", Directory, None),
            (".openclaw/openclaw.json", Regular, None),
            (".openclaw/state/a", Symlink, Some("../openclaw.json")),
            (".openclaw/state/b", Link, Some(".openclaw/openclaw.json")),
        ]);
        assert_eq!(check(&ok), Ok(4));
    }

    #[test]
    fn hardening_08_members_outside_the_state_are_named() {
        for (members, says) in [
            (
                vec![(".bashrc", Regular, None)],
                "member .bashrc: outside .openclaw/",
            ),
            (vec![("/etc/passwd", Regular, None)], "absolute"),
            (
                vec![(".openclaw/../.ssh/authorized_keys", Regular, None)],
                "..",
            ),
            (
                vec![(".openclaw/x", Symlink, Some("/root/.ssh"))],
                "absolute path",
            ),
            (
                vec![(".openclaw/x", Symlink, Some("../../.profile"))],
                "leads out",
            ),
            (vec![(".openclaw/x", Link, Some(".profile"))], "hard link"),
            (vec![(".openclaw/x", tar::EntryType::Char, None)], "Char"),
        ] {
            let why = check(&archive(&members)).unwrap_err();
            assert!(why.contains(says), "{members:?}: {why}");
        }
        assert!(check(b"not a tar").is_err());
    }
}
