//! HTML for people, drawn on the server: text escaped for HTML, and a ticket's redemption
//! code as a QR code and a Code 128 barcode in inline SVG (the QR code one square per dark
//! module, so what it holds can be read back). Used by the e-ticket page and the paper
//! tickets' print page.

/// `&`, `<`, `>`, `"` and `'` as entities: text and attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The QR code of `payload` as SVG: a 4-module quiet zone, one `M{x} {y}h1v1h-1z` square per
/// dark module, scaled by the viewBox.
pub fn qr_svg(payload: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let mut path = String::new();
    for (index, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (index % width + 4, index / width + 4);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let size = width + 8;
    Some(format!(
        r##"<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" aria-label="QR code" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
    ))
}

/// The Code 128 barcode (character set B) of `payload` as SVG.
pub fn barcode_svg(payload: &str) -> Option<String> {
    use barcoders::generators::svg::SVG;
    use barcoders::sym::code128::Code128;
    let barcode = Code128::new(format!("\u{0181}{payload}")).ok()?;
    let svg = SVG::new(60)
        .xdim(2)
        .xmlns("http://www.w3.org/2000/svg".to_owned())
        .generate(barcode.encode())
        .ok()?;
    Some(svg.replacen(
        "<svg ",
        r#"<svg class="barcode" role="img" aria-label="barcode" "#,
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn codes_are_drawn_as_svg() {
        let qr = qr_svg("ABCDEFGHJKLMNPQR0001").unwrap();
        assert!(qr.starts_with("<svg class=\"qr\"") && qr.contains("h1v1h-1z"));
        let bar = barcode_svg("ABCDEFGHJKLMNPQR0001").unwrap();
        assert!(bar.contains("<rect") && bar.contains("class=\"barcode\""));
    }
}
