Sub RunReport()
  Shell "notepad.exe report.txt"
End Sub
