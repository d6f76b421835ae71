//! What the ranks of a spread copy say to each other, as bytes: a message is a run of
//! frames, each a tag byte and its fields (numbers little-endian, byte strings and lists
//! length-prefixed). Every rank runs the same binary, so no version is exchanged.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::report::Output;

/// One thing a rank says.
pub(super) enum Frame {
    // To rank 0.
    /// A line or record of this rank's output.
    Line(Output),
    /// A tree this rank made and will not walk (`ship::ship`), for another rank.
    Offer(Vec<u8>),
    /// The work this rank was given last is done, its output sent before this.
    Done,
    /// This rank's progress counters so far: files, bytes moved, bytes passed.
    Progress([u64; 3]),
    /// What this rank's entries added up to (`Reporter::totals`): its last word.
    Totals(Vec<u64>),
    // From rank 0.
    /// A tree to walk.
    Tree(Vec<u8>),
    /// Another rank is idle: offer a tree if one comes up.
    Want,
    /// Every rank is idle and no tree is left: send the files deferred to their owners.
    Links,
    /// Every rank has copied the files it owns: finish the directories that waited.
    Dirs,
    /// Every rank is done: send the totals and stop.
    Finish,
    // Between any two ranks.
    /// A file deferred to the rank that owns its inode (`ship::ship_file`).
    Link(Vec<u8>),
    /// The sender has sent every file it deferred to this rank.
    LinksEnd,
    /// A command-line file of an inode this rank owns was copied (`ship::ship_known`).
    Known(Vec<u8>),
    // Pieces of big files (`pieces`).
    /// To rank 0: a piece of a file of the sender's, for another rank.
    OfferPiece(Vec<u8>),
    /// From rank 0: a piece to copy.
    Piece(Vec<u8>),
    /// To rank 0: the sender's file `.0` waits for its pieces: give back those queued.
    Reclaim(u64),
    /// From rank 0: pieces of the receiver's file given back before anyone took them.
    Reclaimed { file: u64, pieces: Vec<u64> },
    /// To a file's owner: a piece of it was copied (`ok`), or could not be here.
    PieceDone { file: u64, index: u64, ok: bool },
    // Before anything else.
    /// To rank 0: where the sender runs (`Run::place`).
    Place(u64),
    /// From rank 0: where every rank runs, by rank.
    Places(Vec<u64>),
}

const OUT: u8 = 1;
const MESSAGE: u8 = 2;
const FAILED: u8 = 3;
const REPORT: u8 = 4;
const OFFER: u8 = 5;
const DONE: u8 = 6;
const PROGRESS: u8 = 7;
const TOTALS: u8 = 8;
const TREE: u8 = 9;
const WANT: u8 = 10;
const FINISH: u8 = 11;
const LINKS: u8 = 12;
const DIRS: u8 = 13;
const LINK: u8 = 14;
const LINKS_END: u8 = 15;
const KNOWN: u8 = 16;
const OFFER_PIECE: u8 = 17;
const PIECE: u8 = 18;
const RECLAIM: u8 = 19;
const RECLAIMED: u8 = 20;
const PIECE_DONE: u8 = 21;
const PLACE: u8 = 22;
const PLACES: u8 = 23;

impl Frame {
    /// Appends the frame to `out`.
    pub(super) fn put(&self, out: &mut Writer) {
        match self {
            Frame::Line(Output::Out(text)) => out.tag(OUT).text(text),
            Frame::Line(Output::Message(text)) => out.tag(MESSAGE).text(text),
            Frame::Line(Output::Failed(text)) => out.tag(FAILED).text(text),
            Frame::Line(Output::Report(text)) => out.tag(REPORT).text(text),
            // A sink that relays formats records first (`Output::Report`).
            Frame::Line(Output::Record(_)) => out,
            Frame::Offer(tree) => out.tag(OFFER).bytes(tree),
            Frame::Done => out.tag(DONE),
            Frame::Progress(counts) => out.tag(PROGRESS).numbers(counts),
            Frame::Totals(words) => out.tag(TOTALS).numbers(words),
            Frame::Tree(tree) => out.tag(TREE).bytes(tree),
            Frame::Want => out.tag(WANT),
            Frame::Finish => out.tag(FINISH),
            Frame::Links => out.tag(LINKS),
            Frame::Dirs => out.tag(DIRS),
            Frame::Link(file) => out.tag(LINK).bytes(file),
            Frame::LinksEnd => out.tag(LINKS_END),
            Frame::Known(copy) => out.tag(KNOWN).bytes(copy),
            Frame::OfferPiece(piece) => out.tag(OFFER_PIECE).bytes(piece),
            Frame::Piece(piece) => out.tag(PIECE).bytes(piece),
            Frame::Reclaim(file) => out.tag(RECLAIM).u64(*file),
            Frame::Reclaimed { file, pieces } => out.tag(RECLAIMED).u64(*file).numbers(pieces),
            Frame::PieceDone { file, index, ok } => {
                out.tag(PIECE_DONE).u64(*file).u64(*index).bool(*ok)
            }
            Frame::Place(place) => out.tag(PLACE).u64(*place),
            Frame::Places(places) => out.tag(PLACES).numbers(places),
        };
    }

    /// A message of this frame alone.
    pub(super) fn message(&self) -> Vec<u8> {
        let mut out = Writer::default();
        self.put(&mut out);
        out.0
    }

    /// The frame at the front of `from`, if whole.
    pub(super) fn get(from: &mut Reader) -> Option<Frame> {
        let text =
            |from: &mut Reader| from.bytes().map(|b| String::from_utf8_lossy(b).into_owned());
        Some(match from.u8()? {
            OUT => Frame::Line(Output::Out(text(from)?)),
            MESSAGE => Frame::Line(Output::Message(text(from)?)),
            FAILED => Frame::Line(Output::Failed(text(from)?)),
            REPORT => Frame::Line(Output::Report(text(from)?)),
            OFFER => Frame::Offer(from.bytes()?.to_vec()),
            DONE => Frame::Done,
            PROGRESS => {
                let n = from.numbers()?;
                Frame::Progress([0, 1, 2].map(|i| n.get(i).copied().unwrap_or(0)))
            }
            TOTALS => Frame::Totals(from.numbers()?),
            TREE => Frame::Tree(from.bytes()?.to_vec()),
            WANT => Frame::Want,
            FINISH => Frame::Finish,
            LINKS => Frame::Links,
            DIRS => Frame::Dirs,
            LINK => Frame::Link(from.bytes()?.to_vec()),
            LINKS_END => Frame::LinksEnd,
            KNOWN => Frame::Known(from.bytes()?.to_vec()),
            OFFER_PIECE => Frame::OfferPiece(from.bytes()?.to_vec()),
            PIECE => Frame::Piece(from.bytes()?.to_vec()),
            RECLAIM => Frame::Reclaim(from.u64()?),
            RECLAIMED => Frame::Reclaimed { file: from.u64()?, pieces: from.numbers()? },
            PIECE_DONE => {
                Frame::PieceDone { file: from.u64()?, index: from.u64()?, ok: from.bool()? }
            }
            PLACE => Frame::Place(from.u64()?),
            PLACES => Frame::Places(from.numbers()?),
            _ => return None,
        })
    }
}

/// The frames of one message, in order (a damaged tail is dropped: every rank runs the
/// same code, so there is none).
pub(super) fn frames(message: &[u8]) -> Vec<Frame> {
    let mut reader = Reader(message);
    std::iter::from_fn(|| Frame::get(&mut reader)).collect()
}

/// Bytes being written.
#[derive(Default)]
pub(super) struct Writer(pub(super) Vec<u8>);

impl Writer {
    pub(super) fn tag(&mut self, tag: u8) -> &mut Self {
        self.0.push(tag);
        self
    }

    pub(super) fn u64(&mut self, n: u64) -> &mut Self {
        self.0.extend_from_slice(&n.to_le_bytes());
        self
    }

    pub(super) fn bool(&mut self, b: bool) -> &mut Self {
        self.0.push(u8::from(b));
        self
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.u64(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }

    pub(super) fn text(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    pub(super) fn path(&mut self, path: &Path) -> &mut Self {
        self.bytes(path.as_os_str().as_bytes())
    }

    pub(super) fn numbers(&mut self, numbers: &[u64]) -> &mut Self {
        self.u64(numbers.len() as u64);
        numbers.iter().for_each(|&n| {
            self.u64(n);
        });
        self
    }
}

/// Bytes being read.
pub(super) struct Reader<'b>(pub(super) &'b [u8]);

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    pub(super) fn bool(&mut self) -> Option<bool> {
        self.u8().map(|b| b != 0)
    }

    pub(super) fn bytes(&mut self) -> Option<&'b [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }

    pub(super) fn path(&mut self) -> Option<&'b Path> {
        self.bytes().map(|b| Path::new(OsStr::from_bytes(b)))
    }

    pub(super) fn numbers(&mut self) -> Option<Vec<u64>> {
        let n = self.u64()?;
        (0..n).map(|_| self.u64()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_as_written() {
        let mut out = Writer::default();
        Frame::Line(Output::Out("'a' -> 'b'".into())).put(&mut out);
        Frame::Offer(vec![1, 2, 3]).put(&mut out);
        Frame::Progress([1, 2, 3]).put(&mut out);
        Frame::Totals(vec![4, 5]).put(&mut out);
        Frame::Finish.put(&mut out);
        Frame::PieceDone { file: 7, index: 3, ok: true }.put(&mut out);
        Frame::Reclaimed { file: 7, pieces: vec![4, 5] }.put(&mut out);
        let got = frames(&out.0);
        assert!(matches!(&got[0], Frame::Line(Output::Out(t)) if t == "'a' -> 'b'"));
        assert!(matches!(&got[1], Frame::Offer(b) if b == &[1, 2, 3]));
        assert!(matches!(&got[2], Frame::Progress([1, 2, 3])));
        assert!(matches!(&got[3], Frame::Totals(w) if w == &[4, 5]));
        assert!(matches!(&got[4], Frame::Finish));
        assert!(matches!(&got[5], Frame::PieceDone { file: 7, index: 3, ok: true }));
        assert!(matches!(&got[6], Frame::Reclaimed { file: 7, pieces } if pieces == &[4, 5]));
        assert_eq!(got.len(), 7);
        // A cut message yields what is whole.
        assert_eq!(frames(&out.0[..out.0.len() - 1]).len(), 6);
    }
}
