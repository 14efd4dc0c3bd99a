// VBA that runs on opening and downloads or starts something. mugai scans
// the decompressed module source (`doc.docm!VBA source`), so plain words
// match. The macro itself is disarmed anyway; the rule raises the lure score.
rule vba_autoexec_download_or_shell {
  meta:
    description = "VBA that runs on opening and downloads a file or starts a program"
    severity = "high"
    action = "score"
  strings:
    $auto1 = "AutoOpen" nocase
    $auto2 = "Document_Open" nocase
    $auto3 = "Workbook_Open" nocase
    $auto4 = "Auto_Open" nocase
    $auto5 = "AutoExec" nocase
    $act1 = "URLDownloadToFile" nocase
    $act2 = "WScript.Shell" nocase
    $act3 = /\bShell\s*\(?\s*"/ nocase
    $act4 = "powershell" nocase
    $act5 = "MSXML2.XMLHTTP" nocase
    $act6 = "ShellExecute" nocase
  condition:
    any of ($auto*) and any of ($act*)
}
