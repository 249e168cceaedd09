//! What an uploaded file can do to the issuance reader: arbitrary bytes, valid workbooks
//! mutated byte by byte, truncated or spliced, and zip archives built to hurt (bombs, parts
//! lying about their size, nested archives, too many parts, rows past the limit). The
//! reader must answer every one with a result, never a panic, and refuse what it promises
//! to refuse with the code it promises, before unpacking more than its limits.
//!
//! Bounded for CI: each property runs a fixed number of cases (`PROPTEST_CASES` raises it
//! for a longer local run). A failing case is written to `proptest-regressions/` (commit it:
//! it is replayed first on every run), and the workbooks of the repository's fixtures
//! (`tests/fixtures`, from other spreadsheet programs) are read on every run.

use proptest::prelude::*;
use std::io::Write;
use tessera_domain::issuance::{
    MAX_DATA_ROWS, MAX_FILE_BYTES, MAX_PARTS, MAX_UNPACKED_BYTES, MAX_UNPACKED_PART_BYTES,
};
use tessera_domain::ErrorCode;
use tessera_sheets::{check_archive, issuance_template, read_issuance};
use zip::write::SimpleFileOptions;

/// The codes a file may be refused with: nothing else (an internal error would be a bug).
const FILE_REFUSALS: [ErrorCode; 3] = [
    ErrorCode::IssuanceFileInvalid,
    ErrorCode::IssuanceFileTooLarge,
    ErrorCode::IssuanceTooManyRows,
];

fn assert_answered(bytes: &[u8]) {
    match read_issuance(bytes) {
        Ok((header, rows)) => {
            assert!(header.len() == tessera_domain::issuance::COLUMNS.len());
            assert!(rows.len() as u32 <= MAX_DATA_ROWS);
        }
        Err(error) => assert!(
            FILE_REFUSALS.contains(&error.code),
            "refused with an unexpected code: {error:?}"
        ),
    }
}

fn valid_workbook(rows: usize) -> Vec<u8> {
    let row = |i: usize| {
        [
            format!("IMP{i:04}"),
            String::new(),
            "PFXTRABCDEF".to_owned(),
            "1".to_owned(),
            "王小明".to_owned(),
            "0912345678".to_owned(),
            String::new(),
            "=HYPERLINK(\"x\")".to_owned(),
        ]
    };
    let rows: Vec<[String; 8]> = (0..rows).map(row).collect();
    issuance_template(&rows).expect("a template")
}

/// A zip archive of `(name, content)` parts, deflated.
fn archive(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, content) in parts {
        writer.start_file(*name, options).expect("a part");
        writer.write_all(content).expect("written");
    }
    writer.finish().expect("an archive").into_inner()
}

/// The parts of a valid workbook, so that a hostile archive is otherwise a real xlsx.
fn workbook_parts() -> Vec<(String, Vec<u8>)> {
    let bytes = valid_workbook(2);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut part = zip.by_index(i).expect("a part");
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut part, &mut content).expect("read");
            (part.name().to_owned(), content)
        })
        .collect()
}

fn with_parts(replace: &str, content: &[u8], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let parts = workbook_parts();
    let mut all: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(name, bytes)| {
            let bytes: &[u8] = if name == replace { content } else { bytes };
            (name.as_str(), bytes)
        })
        .collect();
    all.extend_from_slice(extra);
    archive(&all)
}

/// 256 cases a property in CI; `PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn code_of(bytes: &[u8]) -> Option<ErrorCode> {
    read_issuance(bytes).err().map(|e| e.code)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_answered(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        assert_answered(&bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_a_zip_signature_are_answered(
        tail in proptest::collection::vec(any::<u8>(), 0..4096)
    ) {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend(tail);
        assert_answered(&bytes);
    }

    #[test]
    fn a_valid_workbook_with_bytes_flipped_is_answered(
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..16)
    ) {
        let mut bytes = valid_workbook(3);
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        assert_answered(&bytes);
    }

    #[test]
    fn a_valid_workbook_cut_or_spliced_is_answered(
        cut in any::<proptest::sample::Index>(),
        splice in proptest::collection::vec(any::<u8>(), 0..512),
        keep_tail in any::<bool>(),
    ) {
        let bytes = valid_workbook(3);
        let at = cut.index(bytes.len());
        let mut spliced = bytes[..at].to_vec();
        spliced.extend(splice);
        if keep_tail {
            spliced.extend_from_slice(&bytes[at..]);
        }
        assert_answered(&spliced);
    }

    #[test]
    fn a_sheet_of_arbitrary_xml_text_is_answered(
        cells in proptest::collection::vec("[ -~]{0,40}", 0..40)
    ) {
        let rows: String = cells
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let escaped = text.replace('&', "&amp;").replace('<', "&lt;");
                format!("<row r=\"{}\"><c r=\"A{}\" t=\"inlineStr\"><is><t>{escaped}</t></is></c></row>", i + 1, i + 1)
            })
            .collect();
        let sheet = format!(
            "<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{rows}</sheetData></worksheet>"
        );
        assert_answered(&with_parts("xl/worksheets/sheet1.xml", sheet.as_bytes(), &[]));
    }
}

#[test]
fn a_valid_workbook_is_read() {
    let (header, rows) = read_issuance(&valid_workbook(3)).expect("read");
    assert_eq!(header[0], tessera_domain::issuance::COLUMNS[0]);
    assert_eq!(rows.len(), 3);
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_opened() {
    let bytes = vec![0_u8; MAX_FILE_BYTES as usize + 1];
    assert_eq!(code_of(&bytes), Some(ErrorCode::IssuanceFileTooLarge));
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_unpacked_past_the_part_limit() {
    // 20 MB of zeros deflates to about 20 KB: a small upload that would unpack past the
    // 16 MB part limit.
    let zeros = vec![0_u8; (MAX_UNPACKED_PART_BYTES + 4 * 1024 * 1024) as usize];
    let bomb = with_parts("xl/worksheets/sheet1.xml", &zeros, &[]);
    assert!(bomb.len() < MAX_FILE_BYTES as usize, "{} bytes", bomb.len());
    assert_eq!(code_of(&bomb), Some(ErrorCode::IssuanceFileInvalid));
    let message = check_archive(&bomb).unwrap_err().to_string();
    assert!(
        message.contains("a part (xl/worksheets/sheet1.xml) unpacks to more than 16 MiB"),
        "{message}"
    );
}

#[test]
fn many_parts_each_under_the_limit_are_refused_once_the_total_is_over() {
    // Three parts of 12 MB: each within the part limit, together over the 32 MB total.
    let twelve = vec![b'a'; 12 * 1024 * 1024];
    assert!(3 * twelve.len() as u64 > MAX_UNPACKED_BYTES);
    let bytes = with_parts(
        "",
        &[],
        &[("a.bin", &twelve), ("b.bin", &twelve), ("c.bin", &twelve)],
    );
    let message = check_archive(&bytes).unwrap_err().to_string();
    assert!(message.contains("the archive unpacks"), "{message}");
}

#[test]
fn an_archive_of_too_many_parts_is_refused() {
    let names: Vec<String> = (0..=MAX_PARTS).map(|i| format!("p{i}.txt")).collect();
    let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let message = check_archive(&archive(&parts)).unwrap_err().to_string();
    assert!(message.contains("parts"), "{message}");
}

#[test]
fn a_part_lying_about_its_size_is_caught_when_inflated() {
    // The central directory says 10 bytes; the part inflates to 20 MB.
    let zeros = vec![0_u8; (MAX_UNPACKED_PART_BYTES + 4 * 1024 * 1024) as usize];
    let mut bytes = with_parts("xl/worksheets/sheet1.xml", &zeros, &[]);
    let name = b"xl/worksheets/sheet1.xml";
    // Every header naming the part (local and central) gets a small uncompressed size.
    let mut at = 0;
    while let Some(found) = bytes[at..]
        .windows(name.len())
        .position(|w| w == name)
        .map(|p| p + at)
    {
        for signature in [b"PK\x03\x04", b"PK\x01\x02"] {
            let header = if signature == b"PK\x03\x04" { 30 } else { 46 };
            let size_at = if signature == b"PK\x03\x04" { 22 } else { 24 };
            if found >= header && &bytes[found - header..found - header + 4] == signature {
                bytes[found - header + size_at..found - header + size_at + 4]
                    .copy_from_slice(&10_u32.to_le_bytes());
            }
        }
        at = found + name.len();
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).expect("still a zip");
    let declared = zip
        .by_name("xl/worksheets/sheet1.xml")
        .map(|part| part.size())
        .expect("the part is listed");
    assert_eq!(declared, 10, "the directory lies about the size");
    assert_eq!(code_of(&bytes), Some(ErrorCode::IssuanceFileInvalid));
}

#[test]
fn a_workbook_nested_inside_a_workbook_is_not_unpacked_twice() {
    // An archive inside a part is only bytes to the reader: it is never opened.
    let inner = valid_workbook(1);
    let bytes = with_parts("", &[], &[("xl/embeddings/inner.xlsx", &inner)]);
    let (_, rows) = read_issuance(&bytes).expect("the outer workbook reads");
    assert_eq!(rows.len(), 2, "the outer sheet's rows only");
}

#[test]
fn a_cell_past_the_row_limit_is_refused_as_too_many_rows() {
    let sheet = format!(
        "<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row r=\"{r}\"><c r=\"A{r}\" t=\"inlineStr\"><is><t>IMP</t></is></c></row></sheetData></worksheet>",
        r = MAX_DATA_ROWS + 2
    );
    let bytes = with_parts("xl/worksheets/sheet1.xml", sheet.as_bytes(), &[]);
    assert_eq!(code_of(&bytes), Some(ErrorCode::IssuanceTooManyRows));
}

#[test]
fn every_workbook_of_the_fixtures_is_answered() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
    let mut read = 0;
    for entry in std::fs::read_dir(dir).expect("the fixtures folder") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "xlsx") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("a corpus file");
        assert_answered(&bytes);
        read += 1;
    }
    assert!(read > 0, "the fixtures hold a workbook");
}

/// Found by the byte-flipping property: a cell names a shared string the workbook lacks,
/// which panics inside calamine; the reader refuses the file instead.
#[test]
fn a_cell_naming_a_missing_shared_string_is_refused() {
    let parts: Vec<(String, Vec<u8>)> = workbook_parts()
        .into_iter()
        .map(|(name, content)| match name.as_str() {
            "xl/sharedStrings.xml" => (
                name,
                br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>"#.to_vec(),
            ),
            _ => (name, content),
        })
        .collect();
    let borrowed: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(name, content)| (name.as_str(), content.as_slice()))
        .collect();
    let error = read_issuance(&archive(&borrowed)).expect_err("refused");
    assert_eq!(error.code, ErrorCode::IssuanceFileInvalid);
}
