# One module per PUS service; each declares its commands in register().
