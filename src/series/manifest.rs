//! The series manifest: one JSON object per line and per image rendered, written by each rank
//! next to the outputs when the image's files are in place, read back to resume a series and
//! joined by the merge step.
//!
//! A line (fields in this order; see [`Entry`]):
//!
//! ```text
//! {"image":2,"images":200,"series":"9f1c2b3a4d5e6f70","rank":1,"ranks":3,
//!  "args":["-phi","10.5","-seed","1288061744"],
//!  "seeds":{"noise":1288061744,"misset":null,"mosaic":12345678},
//!  "outputs":[{"file":"img_00002.bin","bytes":65536},{"file":"img_00002.img","bytes":33280}],
//!  "sum":1234.5,"max":98.25,"seconds":0.0123}
//! ```
//!
//! Rank r of n > 1 writes `NAME.rank<r>of<n>.EXT` beside the manifest `NAME.EXT`; the merge
//! step writes `NAME.EXT` with every image's latest line, in image order.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Seeds of an image, as typed on the command line (`-seed 5` is 5; `null`: not used).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    /// Noise seed (`-seed`), when a noise image is written.
    pub noise: Option<i64>,
    /// Random-orientation seed (`-misset_seed`), with `-misset random`.
    pub misset: Option<i64>,
    /// Mosaic-domain seed (`-mosaic_seed`).
    pub mosaic: i64,
}

/// An output file and its size in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub file: String,
    pub bytes: u64,
}

/// One rendered image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Image number (from 1) and images in the series.
    pub image: u64,
    pub images: u64,
    /// Identifies the series' command line (without -images, -rank, -ranks, -manifest):
    /// FNV-1a 64 of its arguments, in hex.
    pub series: String,
    /// The rank that rendered it, of how many.
    pub rank: u64,
    pub ranks: u64,
    /// The image's own options: the single-image run of the command line followed by these
    /// (file names with the image number) renders the same files.
    pub args: Vec<String>,
    pub seeds: Seeds,
    pub outputs: Vec<Output>,
    /// Sum and largest value of the rendered pixels (null when not finite).
    pub sum: Option<f64>,
    pub max: Option<f64>,
    /// Wall-clock seconds for the image: set-up, render and writing.
    pub seconds: f64,
}

impl Entry {
    /// Whether every output file is in place with the size listed.
    pub fn files_complete(&self) -> bool {
        self.outputs
            .iter()
            .all(|o| std::fs::metadata(&o.file).is_ok_and(|m| m.is_file() && m.len() == o.bytes))
    }
}

/// FNV-1a 64 of the arguments (each followed by a NUL byte), in hex.
pub fn fingerprint(args: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for a in args {
        for b in a.bytes().chain([0u8]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The part of the manifest `path` that rank `rank` of `ranks` writes.
pub fn part_path(path: &str, rank: u64, ranks: u64) -> String {
    if ranks <= 1 {
        return path.to_string();
    }
    let p = std::path::Path::new(path);
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    let file = format!("{stem}.rank{rank}of{ranks}{ext}");
    match p.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.join(file).display().to_string(),
        None => file,
    }
}

/// A manifest's lines. A last line without its newline (the process stopped while writing
/// it) is left out and reported as `torn`; any other line that is not an entry is an error
/// naming the file and line.
pub struct Read {
    pub entries: Vec<Entry>,
    pub torn: bool,
}

/// Read manifest `path` (a missing file has no entries).
pub fn read(path: &str) -> Result<Read> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8(b)
            .map_err(|_| Error::input(path, None, "not a text file (invalid UTF-8)"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::input(path, None, format!("cannot read: {e}"))),
    };
    let torn = !text.is_empty() && !text.ends_with('\n');
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut entries = Vec::new();
    for (n, line) in complete.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(line)
            .map_err(|e| Error::input(path, Some(n + 1), format!("not a manifest entry: {e}")))?;
        entries.push(e);
    }
    Ok(Read { entries, torn })
}

/// An open manifest part, appended to line by line.
pub struct Log {
    file: std::fs::File,
    path: String,
}

impl Log {
    /// Open `path` for appending, after removing a torn last line (rewritten all or nothing).
    pub fn open(path: &str, read: &Read) -> Result<Log> {
        if read.torn {
            let mut text = String::new();
            for e in &read.entries {
                text.push_str(&line(e));
            }
            crate::io::write_atomic(path, text.as_bytes())?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::output(path, e.to_string()))?;
        Ok(Log {
            file,
            path: path.to_string(),
        })
    }

    /// Append one entry (one write of one line).
    pub fn append(&mut self, e: &Entry) -> Result<()> {
        self.file
            .write_all(line(e).as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|err| Error::output(&self.path, err.to_string()))
    }
}

/// An entry as one line of JSON with its newline.
pub fn line(e: &Entry) -> String {
    let mut s = serde_json::to_string(e).unwrap_or_default();
    s.push('\n');
    s
}

/// What the merge step found.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// Images in the series (0 when no entry was found).
    pub images: u64,
    /// Images listed, and those missing (numbers).
    pub present: u64,
    pub missing: Vec<u64>,
    /// The files read.
    pub parts: Vec<String>,
    /// Seconds of rendering listed, over every image.
    pub seconds: f64,
}

/// The rank parts of manifest `path` in its folder (`NAME.rank<r>of<n>.EXT`), sorted.
pub fn parts_of(path: &str) -> Result<Vec<String>> {
    let p = std::path::Path::new(path);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (name[..i].to_string(), name[i..].to_string()),
        _ => (name.clone(), String::new()),
    };
    let prefix = format!("{stem}.rank");
    let mut parts: Vec<(u64, u64, String)> = Vec::new();
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::input(&dir.display().to_string(), None, e.to_string()))?;
    for entry in rd.flatten() {
        let f = entry.file_name().to_string_lossy().into_owned();
        let Some(mid) = f.strip_prefix(&prefix).and_then(|m| m.strip_suffix(&ext)) else {
            continue;
        };
        if let Some((r, n)) = mid.split_once("of")
            && let (Ok(r), Ok(n)) = (r.parse::<u64>(), n.parse::<u64>())
        {
            let full = if p.parent().is_some_and(|d| !d.as_os_str().is_empty()) {
                dir.join(&f).display().to_string()
            } else {
                f.clone()
            };
            parts.push((n, r, full));
        }
    }
    parts.sort();
    Ok(parts.into_iter().map(|(_, _, f)| f).collect())
}

/// Join manifest `path` and its rank parts into `path` (every image's latest line, in image
/// order, written all or nothing) and report the images missing.
pub fn merge(path: &str) -> Result<Merged> {
    merge_with(path, Vec::new())
}

/// As [`merge`], with `extra` entries (sent by other ranks) after those of the files.
pub fn merge_with(path: &str, extra: Vec<Entry>) -> Result<Merged> {
    let mut files = vec![path.to_string()];
    files.extend(parts_of(path)?);
    let mut latest: std::collections::BTreeMap<u64, Entry> = Default::default();
    let mut series: Option<(String, u64, String)> = None;
    let mut read_files = Vec::new();
    let mut sets = Vec::new();
    for f in &files {
        let r = read(f)?;
        if !r.entries.is_empty() {
            read_files.push(f.clone());
            sets.push((f.clone(), r.entries));
        }
    }
    sets.push(("(sent by the ranks)".to_string(), extra));
    for (f, entries) in sets {
        let f = &f;
        for e in entries {
            match &series {
                None => series = Some((e.series.clone(), e.images, f.clone())),
                Some((id, _, first)) if *id != e.series => {
                    return Err(Error::input(
                        f,
                        None,
                        format!(
                            "lists image {} of another series ({}) than {first} ({id}): merge the parts of one series",
                            e.image, e.series
                        ),
                    ));
                }
                Some((id, n, first)) if e.images > *n => {
                    series = Some((id.clone(), e.images, first.clone()));
                }
                _ => {}
            }
            latest.insert(e.image, e);
        }
    }
    let images = series.as_ref().map_or(0, |s| s.1);
    let mut text = String::new();
    let mut seconds = 0.0;
    for e in latest.values() {
        text.push_str(&line(e));
        seconds += e.seconds;
    }
    if !latest.is_empty() {
        crate::io::write_atomic(path, text.as_bytes())?;
    }
    let missing: Vec<u64> = (1..=images).filter(|i| !latest.contains_key(i)).collect();
    Ok(Merged {
        images,
        present: latest.keys().filter(|i| **i <= images).count() as u64,
        missing,
        parts: read_files,
        seconds,
    })
}

/// Numbers as ranges for a message: "3, 7-9, 12".
pub fn ranges(numbers: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            numbers[i].to_string()
        } else {
            format!("{}-{}", numbers[i], numbers[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_and_ranges() {
        assert_eq!(part_path("out/series.jsonl", 0, 1), "out/series.jsonl");
        assert_eq!(
            part_path("out/series.jsonl", 2, 16),
            "out/series.rank2of16.jsonl"
        );
        assert_eq!(part_path("m", 1, 2), "m.rank1of2");
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
    }
}
