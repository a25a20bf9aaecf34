//! The generic netlink controller: the request for the IPVS family id and
//! its answer (`genetlink.h`).

use super::DecodeError;
use super::attr::{AttrWriter, require, split_genl};

/// `CTRL_CMD_NEWFAMILY`.
const CMD_NEWFAMILY: u8 = 1;
/// `CTRL_CMD_GETFAMILY`.
const CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID`.
const ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME`.
const ATTR_FAMILY_NAME: u16 = 2;

/// The request for the id of family `name` (`CTRL_CMD_GETFAMILY`), to send
/// to [`GENL_ID_CTRL`](super::GENL_ID_CTRL).
pub fn encode_get_family(name: &str) -> Vec<u8> {
    let mut w = AttrWriter::genl(CMD_GETFAMILY, 1);
    w.put_str(ATTR_FAMILY_NAME, name);
    w.finish()
}

/// The family id in the controller's answer (`CTRL_CMD_NEWFAMILY`).
pub fn decode_family_id(payload: &[u8]) -> Result<u16, DecodeError> {
    let (cmd, attrs) = split_genl(payload)?;
    if cmd != CMD_NEWFAMILY {
        return Err(DecodeError::UnexpectedCommand(cmd));
    }
    require(attrs, ATTR_FAMILY_ID, "CTRL_ATTR_FAMILY_ID")?.u16("CTRL_ATTR_FAMILY_ID")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_endian = "little")]
    #[test]
    fn family_request_and_answer() {
        assert_eq!(
            encode_get_family("IPVS"),
            vec![3, 1, 0, 0, 9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0]
        );
        // CTRL_CMD_NEWFAMILY with FAMILY_NAME then FAMILY_ID = 0x1b.
        let answer = [
            1, 2, 0, 0, 9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0, 6, 0, 1, 0, 0x1b, 0, 0, 0,
        ];
        assert_eq!(decode_family_id(&answer), Ok(0x1b));
        assert_eq!(
            decode_family_id(&answer[..16]),
            Err(DecodeError::Missing("CTRL_ATTR_FAMILY_ID"))
        );
    }
}
