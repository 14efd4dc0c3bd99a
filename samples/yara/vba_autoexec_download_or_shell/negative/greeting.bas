Sub AutoOpen()
  MsgBox "Welcome"
End Sub
