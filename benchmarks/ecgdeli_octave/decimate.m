function y = decimate(x, q)
  % Shadows octave-signal's decimate for the one case ECGdeli meets at 500 Hz
  % (QRS_Detection calls decimate(x, floor(fs/400)) = decimate(x, 1)). MATLAB
  % returns the input unchanged for q = 1; Octave low-pass filters it anyway.
  if q ~= 1
    error('decimate shim: only q = 1 is implemented (got %d); run at fs < 800 Hz', q);
  end
  y = x;
end
