//! Report exports: rows streamed into a workbook in rust_xlsxwriter's constant-memory mode
//! (each row goes to a temporary file as it is written, so memory stays flat however many
//! rows a report has), every cell as text, none able to become a formula.

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use std::borrow::Cow;
use tessera_domain::{Error, ErrorCode};

/// Rows one worksheet holds besides its header (Excel's limit is 1,048,576 in all); a
/// longer report continues on another sheet.
pub const ROWS_PER_SHEET: u32 = 1_048_575;

/// The characters that make a spreadsheet program read a cell as a formula (or a DDE
/// call) when the text is typed, pasted or saved as CSV and opened again.
const FORMULA_LEADS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell's text made inert: one that begins like a formula gets a leading apostrophe,
/// the spreadsheet convention for "this is text" (OWASP's advice for CSV injection).
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_LEADS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn write_error(error: XlsxError) -> Error {
    Error::new(ErrorCode::InternalError).with_detail(format!("xlsx: {error}"))
}

/// One report being written: a header row in bold, then the rows as they come.
pub struct ReportWriter {
    workbook: Workbook,
    sheet_name: String,
    headers: Vec<String>,
    text: Format,
    bold: Format,
    sheets: usize,
    row_in_sheet: u32,
    rows: u64,
}

impl ReportWriter {
    /// A workbook whose sheets are named `sheet_name` (the report's name in the manual)
    /// and start with `headers`; temporary row files go to `tempdir` (Lambda's `/tmp`).
    pub fn new(
        sheet_name: &str,
        headers: &[&str],
        tempdir: &std::path::Path,
    ) -> Result<ReportWriter, Error> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(tempdir).map_err(write_error)?;
        let mut writer = ReportWriter {
            workbook,
            sheet_name: sheet_name.to_owned(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            text: Format::new().set_num_format("@"),
            bold: Format::new().set_bold().set_num_format("@"),
            sheets: 0,
            row_in_sheet: 0,
            rows: 0,
        };
        writer.start_sheet()?;
        Ok(writer)
    }

    fn start_sheet(&mut self) -> Result<(), Error> {
        let name = match self.sheets {
            0 => self.sheet_name.clone(),
            n => format!("{} ({})", self.sheet_name, n + 1),
        };
        let sheet = self.workbook.add_worksheet_with_constant_memory();
        sheet.set_name(&name).map_err(write_error)?;
        for (column, header) in self.headers.iter().enumerate() {
            let column = u16::try_from(column).unwrap_or(u16::MAX);
            sheet.set_column_width(column, 16).map_err(write_error)?;
            sheet
                .write_string_with_format(0, column, header, &self.bold)
                .map_err(write_error)?;
        }
        self.sheets += 1;
        self.row_in_sheet = 0;
        Ok(())
    }

    /// Appends one row; each cell is written as text, neutralised.
    pub fn push(&mut self, cells: &[String]) -> Result<(), Error> {
        if self.row_in_sheet == ROWS_PER_SHEET {
            self.start_sheet()?;
        }
        let row = self.row_in_sheet + 1;
        let sheet = self
            .workbook
            .worksheet_from_index(self.sheets - 1)
            .map_err(write_error)?;
        for (column, cell) in cells.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            sheet
                .write_string_with_format(
                    row,
                    u16::try_from(column).unwrap_or(u16::MAX),
                    neutralise(cell),
                    &self.text,
                )
                .map_err(write_error)?;
        }
        self.row_in_sheet = row;
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far (headers not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The finished workbook.
    pub fn finish(mut self) -> Result<Vec<u8>, Error> {
        self.workbook.save_to_buffer().map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    #[test]
    fn cells_that_begin_like_formulas_are_neutralised() {
        for lead in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(lead), format!("'{lead}"));
        }
        for plain in ["1", "王小明", "", "a=b", " =x"] {
            assert_eq!(neutralise(plain), plain);
        }
    }

    #[test]
    fn a_report_reads_back_as_text_with_its_header() {
        let dir = std::env::temp_dir();
        let mut writer = ReportWriter::new("票券報表", &["票券序號", "持票人"], &dir).unwrap();
        writer
            .push(&["0000000000018".to_owned(), "=HYPERLINK(\"x\")".to_owned()])
            .unwrap();
        writer
            .push(&["0000000000026".to_owned(), String::new()])
            .unwrap();
        assert_eq!(writer.rows(), 2);
        let bytes = writer.finish().unwrap();
        let mut book = Xlsx::new(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("票券報表").unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        assert_eq!(rows[0][0], Data::String("票券序號".into()));
        assert_eq!(rows[1][0], Data::String("0000000000018".into()));
        assert_eq!(rows[1][1], Data::String("'=HYPERLINK(\"x\")".into()));
        assert_eq!(rows.len(), 3);
        let formulas = book.worksheet_formula("票券報表").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    }
}
