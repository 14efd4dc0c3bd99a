// Excel 4.0 (XLM) macro formulas that run programs or call into DLLs, in
// macro sheets of xlsm (XML) or as text (SYLK, CSV).
rule xlm_exec_or_call {
  meta:
    description = "Excel 4.0 macro formula EXEC or CALL (runs a program or a DLL function)"
    severity = "high"
    action = "score"
  strings:
    $exec = /=\s*EXEC\s*\(/ nocase
    $call = /=\s*CALL\s*\(/ nocase
    $reg = /=\s*REGISTER\s*\(/ nocase
    $xml_exec = /<f>\s*EXEC\s*\(/ nocase
    $xml_call = /<f>\s*CALL\s*\(/ nocase
    $slk = /;E(EXEC|CALL|REGISTER)\(/ nocase
  condition:
    any of them
}
