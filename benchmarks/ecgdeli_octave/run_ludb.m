function run_ludb(in_mat, out_csv, ecgdeli_dir)
  % Batch driver: runs ECGdeli (KIT-IBT) on every record in in_mat, the way its
  % Example/Annotate_ExampleECG.m does for a 12-lead ECG, and writes one CSV row
  % per synchronised beat: the 13 columns of FPT_MultiChannel (samples, 1-based)
  % and the 8 columns of features_sync from ExtractIntervalFeaturesFromFPT (ms).
  % in_mat holds ids (1 x N), fs (scalar) and signals (N x samples x leads, mV).
  pkg load signal
  warning('off', 'Octave:shadowed-function');
  addpath(genpath(ecgdeli_dir));
  % the shims in this folder must shadow octave-signal and stand in for toolboxes
  addpath(fileparts(mfilename('fullpath')));
  S = load(in_mat);
  fs = double(S.fs);
  fid = fopen(out_csv, 'w');
  for r = 1:numel(S.ids)
    id = double(S.ids(r));
    ecg = double(reshape(S.signals(r, :, :), size(S.signals, 2), size(S.signals, 3)));
    t0 = tic;
    try
      % filtering exactly as in the authors' example (their baseline-removal
      % output is not used further there either)
      ecg_f = ECG_High_Low_Filter(ecg, fs, 1, 40);
      ecg_f = Notch_Filter(ecg_f, fs, 50, 1);
      [ecg_f, ~, ~, ~] = Isoline_Correction(ecg_f);
      [fpt_multi, fpt_cell] = Annotate_ECG_Multi(ecg_f, fs);
      if isempty(fpt_multi)
        fprintf(fid, '%d,0,empty\n', id);
      else
        [~, feat] = ExtractIntervalFeaturesFromFPT(fpt_cell, fpt_multi);
        for b = 1:size(fpt_multi, 1)
          fprintf(fid, '%d,%d,ok', id, b);
          fprintf(fid, ',%.10g', [fpt_multi(b, 1:13), feat(b, 1:8)]);
          fprintf(fid, '\n');
        end
      end
    catch err
      msg = strrep(strrep(err.message, ',', ';'), sprintf('\n'), ' ');
      fprintf(fid, '%d,0,error: %s\n', id, msg);
    end
    fflush(fid);
    fprintf(stderr, 'ecgdeli record %d: %.1f s\n', id, toc(t0));
  end
  fclose(fid);
end
