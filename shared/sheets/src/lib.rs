//! The xlsx files merchants exchange with Tessera: the issuance template (written with
//! rust_xlsxwriter) and uploaded issuance files (read with calamine, after checking that
//! the zip inside is safe to unpack).

mod report;
pub use report::{neutralise, ReportWriter, ROWS_PER_SHEET};

use calamine::{DataRef, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook};
use std::io::{Cursor, Read};
use tessera_domain::issuance::{
    self, SheetRow, COLUMNS, MAX_DATA_ROWS, MAX_FILE_BYTES, MAX_PARTS, MAX_UNPACKED_BYTES,
    MAX_UNPACKED_PART_BYTES,
};
use tessera_domain::{Error, ErrorCode};

pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn invalid(reason: impl Into<String>) -> Error {
    Error::new(ErrorCode::IssuanceFileInvalid).with_detail(reason)
}

/// Refuses files that are too big, are not zip archives, or would unpack to too much.
/// Each part is really inflated (into nothing, at most one byte past its limit), so a part
/// that lies about its size in the zip directory is caught too.
pub fn check_archive(bytes: &[u8]) -> Result<(), Error> {
    if bytes.is_empty() {
        return Err(invalid("the file is empty (0 bytes)"));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(
            Error::new(ErrorCode::IssuanceFileTooLarge).with_detail(format!(
                "{} bytes; the limit is {MAX_FILE_BYTES}",
                bytes.len()
            )),
        );
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| invalid("not an xlsx file (not a zip archive)"))?;
    if archive.len() > MAX_PARTS {
        return Err(invalid(format!(
            "at most {MAX_PARTS} parts in the archive, found {}",
            archive.len()
        )));
    }
    let mib = |bytes: u64| bytes / (1024 * 1024);
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let part = archive
            .by_index(index)
            .map_err(|_| invalid("a part of the archive cannot be read"))?;
        let name: String = part.name().chars().take(100).collect();
        let too_big = || {
            invalid(format!(
                "a part ({name}) unpacks to more than {} MiB",
                mib(MAX_UNPACKED_PART_BYTES)
            ))
        };
        if part.size() > MAX_UNPACKED_PART_BYTES {
            return Err(too_big());
        }
        let unpacked = std::io::copy(
            &mut part.take(MAX_UNPACKED_PART_BYTES + 1),
            &mut std::io::sink(),
        )
        .map_err(|_| invalid("a part of the archive is corrupt"))?;
        if unpacked > MAX_UNPACKED_PART_BYTES {
            return Err(too_big());
        }
        total += unpacked;
        if total > MAX_UNPACKED_BYTES {
            return Err(invalid(format!(
                "the archive unpacks to more than {} MiB",
                mib(MAX_UNPACKED_BYTES)
            )));
        }
    }
    Ok(())
}

/// The header and the data rows of an issuance file's first sheet. Reading stops at the
/// first cell past the row limit.
pub fn read_issuance(bytes: &[u8]) -> Result<(Vec<String>, Vec<SheetRow>), Error> {
    check_archive(bytes)?;
    // calamine indexes some parts without checking them (a cell naming a shared string the
    // workbook does not have panics inside it): a damaged file is refused, not a crash.
    std::panic::catch_unwind(|| read_first_sheet(bytes)).unwrap_or_else(|_| {
        Err(invalid(
            "the workbook is damaged (a cell refers to a missing part)",
        ))
    })
}

fn read_first_sheet(bytes: &[u8]) -> Result<(Vec<String>, Vec<SheetRow>), Error> {
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|_| invalid("not a readable xlsx workbook"))?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| invalid("the workbook has no sheet"))?;
    let mut header = vec![String::new(); COLUMNS.len()];
    let mut rows: Vec<SheetRow> = Vec::new();
    // The values first (the reader borrows the workbook until it is dropped).
    {
        let mut reader = workbook
            .worksheet_cells_reader(&first)
            .map_err(|_| invalid("the first sheet cannot be read"))?;
        while let Some(cell) = reader
            .next_cell()
            .map_err(|_| invalid("the first sheet is corrupt"))?
        {
            let (row, column) = cell.get_position();
            let text = cell_text(cell.get_value());
            let column = column as usize;
            if column >= COLUMNS.len() || text.trim().is_empty() {
                continue;
            }
            if row == 0 {
                header[column] = text;
                continue;
            }
            if row > MAX_DATA_ROWS {
                return Err(Error::new(ErrorCode::IssuanceTooManyRows).with_detail(format!(
                    "at most {MAX_DATA_ROWS} rows below the header, found data on row {} (row {} of data)",
                    row + 1,
                    row
                )));
            }
            let excel_row = row + 1;
            if rows.last().map(|r| r.row) != Some(excel_row) {
                rows.push(SheetRow {
                    row: excel_row,
                    cells: Default::default(),
                    formulas_without_value: Vec::new(),
                });
            }
            if let Some(last) = rows.last_mut() {
                last.cells[column] = text;
            }
        }
    }
    mark_formulas_without_value(&mut workbook, &first, &mut rows)?;
    Ok((header, rows))
}

/// Marks the data cells that hold a formula the file has no result for (read as empty by
/// the value pass). A second pass over the sheet's formulas, within the same limits.
fn mark_formulas_without_value<R: std::io::Read + std::io::Seek>(
    workbook: &mut Xlsx<R>,
    sheet: &str,
    rows: &mut Vec<SheetRow>,
) -> Result<(), Error> {
    let mut reader = workbook
        .worksheet_cells_reader(sheet)
        .map_err(|_| invalid("the first sheet cannot be read"))?;
    while let Some(cell) = reader
        .next_formula()
        .map_err(|_| invalid("the first sheet is corrupt"))?
    {
        let (row, column) = cell.get_position();
        let column = column as usize;
        if row == 0 || row > MAX_DATA_ROWS || column >= COLUMNS.len() || cell.get_value().is_empty()
        {
            continue;
        }
        let excel_row = row + 1;
        let index = match rows.binary_search_by_key(&excel_row, |r| r.row) {
            Ok(index) => index,
            Err(index) => {
                rows.insert(
                    index,
                    SheetRow {
                        row: excel_row,
                        cells: Default::default(),
                        formulas_without_value: Vec::new(),
                    },
                );
                index
            }
        };
        let sheet_row = &mut rows[index];
        if sheet_row.cells[column].trim().is_empty() {
            sheet_row.formulas_without_value.push(column);
            // Not a blank row: something is there that cannot be read.
            sheet_row.cells[column] = String::new();
        }
    }
    Ok(())
}

/// A cell as the text a person sees: whole numbers without `.0`, so that a mobile number
/// typed into a number cell (which lost its leading zero) can still be recognised.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e}"),
        DataRef::Empty => String::new(),
    }
}

fn write_error(error: rust_xlsxwriter::XlsxError) -> Error {
    Error::new(ErrorCode::InternalError).with_detail(format!("xlsx: {error}"))
}

/// The issuance template: the header, `rows` pre-filled (the export of issuable orders),
/// every cell formatted as text so that mobile numbers keep their leading zero, and a
/// second sheet with the rules.
pub fn issuance_template(rows: &[[String; 8]]) -> Result<Vec<u8>, Error> {
    let mut workbook = Workbook::new();
    let text = Format::new().set_num_format("@");
    let bold = Format::new().set_bold().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("發行資料").map_err(write_error)?;
    for (column, title) in COLUMNS.iter().enumerate() {
        let column = u16::try_from(column).unwrap_or(u16::MAX);
        sheet
            .set_column_format(column, &text)
            .map_err(write_error)?;
        sheet.set_column_width(column, 18).map_err(write_error)?;
        sheet
            .write_string_with_format(0, column, *title, &bold)
            .map_err(write_error)?;
    }
    for (index, row) in rows.iter().enumerate() {
        let excel_row = u32::try_from(index + 1).unwrap_or(u32::MAX);
        for (column, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet
                    .write_string_with_format(
                        excel_row,
                        u16::try_from(column).unwrap_or(u16::MAX),
                        value,
                        &text,
                    )
                    .map_err(write_error)?;
            }
        }
    }
    let rules = workbook.add_worksheet();
    rules.set_name("填寫規則").map_err(write_error)?;
    rules.set_column_width(0, 120).map_err(write_error)?;
    rules
        .write_string_with_format(0, 0, "發行資料填寫規則 Rules", &bold)
        .map_err(write_error)?;
    for (index, rule) in issuance::template_rules().iter().enumerate() {
        rules
            .write_string(u32::try_from(index + 1).unwrap_or(u32::MAX), 0, rule)
            .map_err(write_error)?;
    }
    workbook.save_to_buffer().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn filled(rows: usize) -> Vec<[String; 8]> {
        (0..rows)
            .map(|i| {
                [
                    format!("IMP{i}"),
                    String::new(),
                    "PABC".into(),
                    "1".into(),
                    "王小明".into(),
                    "0912345678".into(),
                    "ming@example.com".into(),
                    String::new(),
                ]
            })
            .collect()
    }

    #[test]
    fn the_template_reads_back_with_its_header_and_rows() {
        let bytes = issuance_template(&filled(3)).unwrap();
        let (header, rows) = read_issuance(&bytes).unwrap();
        assert!(issuance::check_header(&header).is_ok(), "{header:?}");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[2].cells[0], "IMP2");
        assert_eq!(rows[2].cells[5], "0912345678");
    }

    #[test]
    fn numbers_lose_their_decimal_point() {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for (column, title) in COLUMNS.iter().enumerate() {
            sheet.write_string(0, column as u16, *title).unwrap();
        }
        sheet.write_number(1, 3, 2.0).unwrap();
        sheet.write_number(1, 5, 912345678.0).unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        let (_, rows) = read_issuance(&bytes).unwrap();
        assert_eq!(rows[0].cells[3], "2");
        assert_eq!(rows[0].cells[5], "912345678");
    }

    #[test]
    fn a_thousand_rows_are_read_and_one_more_is_refused() {
        let bytes = issuance_template(&filled(1000)).unwrap();
        assert_eq!(read_issuance(&bytes).unwrap().1.len(), 1000);
        let bytes = issuance_template(&filled(1001)).unwrap();
        assert_eq!(
            read_issuance(&bytes).unwrap_err().code,
            ErrorCode::IssuanceTooManyRows
        );
    }

    #[test]
    fn what_is_not_an_xlsx_is_refused() {
        assert_eq!(
            read_issuance(b"name,mobile\n").unwrap_err().code,
            ErrorCode::IssuanceFileInvalid
        );
        let too_big = vec![0u8; (MAX_FILE_BYTES + 1) as usize];
        assert_eq!(
            read_issuance(&too_big).unwrap_err().code,
            ErrorCode::IssuanceFileTooLarge
        );
        // A zip that is not a workbook.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        assert_eq!(
            read_issuance(&bytes).unwrap_err().code,
            ErrorCode::IssuanceFileInvalid
        );
    }

    #[test]
    fn an_empty_file_says_it_is_empty() {
        let error = read_issuance(&[]).unwrap_err();
        assert_eq!(error.code, ErrorCode::IssuanceFileInvalid);
        assert_eq!(error.detail.as_deref(), Some("the file is empty (0 bytes)"));
    }

    #[test]
    fn a_decompression_bomb_is_refused_without_unpacking_it_all() {
        // 64 MiB of zeros compress to about 64 KB: small upload, huge sheet.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            zip.write_all(&chunk).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        assert!((bytes.len() as u64) < MAX_FILE_BYTES);
        let error = read_issuance(&bytes).unwrap_err();
        assert_eq!(error.code, ErrorCode::IssuanceFileInvalid);
        assert_eq!(
            error.detail.unwrap(),
            "a part (xl/worksheets/sheet1.xml) unpacks to more than 16 MiB"
        );
    }
}
