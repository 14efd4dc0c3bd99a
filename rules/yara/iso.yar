// A disk image that carries a shortcut: the ISO-with-LNK delivery that
// replaced macro documents after Office blocked macros from the Internet.
rule iso_with_lnk {
  meta:
    description = "ISO 9660 image that holds a Windows shortcut (LNK)"
    severity = "high"
    action = "remove"
  strings:
    $lnk_name = /[A-Za-z0-9_\-~]{1,64}\.LNK;1/ nocase
    $lnk_magic = { 4C 00 00 00 01 14 02 00 00 00 00 00 C0 00 00 00 00 00 00 46 }
  condition:
    uint32(0x8001) == 0x30304443 and uint8(0x8005) == 0x31 and ($lnk_name or $lnk_magic)
}
