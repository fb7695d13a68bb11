//! TEMPORARY stub.
pub(crate) fn percent_decode_into(input: &[u8], plus_as_space: bool, out: &mut Vec<u8>) -> bool {
    let mut ok = true;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            let h = |c: u8| (c as char).to_digit(16);
            match (input.get(i + 1).and_then(|&c| h(c)), input.get(i + 2).and_then(|&c| h(c))) {
                (Some(a), Some(b)) => { out.push((a * 16 + b) as u8); i += 3; continue; }
                _ => { ok = false; out.push(b); }
            }
        } else if b == b'+' && plus_as_space { out.push(b' '); } else { out.push(b); }
        i += 1;
    }
    ok
}
/// stub
pub(crate) fn has_invalid_percent(input: &[u8]) -> bool { let mut v = Vec::new(); !percent_decode_into(input, false, &mut v) }
