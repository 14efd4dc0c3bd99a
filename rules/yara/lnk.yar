// Windows shortcuts that start a shell: the LNK header, then cmd /c or
// PowerShell among the target and its arguments (usually UTF-16).
rule lnk_runs_shell {
  meta:
    description = "Windows shortcut (LNK) that starts cmd.exe /c or PowerShell"
    severity = "high"
    action = "remove"
  strings:
    $cmd = "cmd" nocase wide ascii
    $cmd_c = /cmd(\.exe)?\s+\/[ck]/ nocase
    $cmd_c_wide = { 2F 00 (63|43) 00 }
    $ps = "powershell" nocase wide ascii
  condition:
    uint32(0) == 0x0000004C and uint32(4) == 0x00021401 and
    (($cmd and ($cmd_c or $cmd_c_wide)) or $ps)
}
