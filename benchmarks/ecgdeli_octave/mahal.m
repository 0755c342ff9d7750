function d = mahal(Y, X)
  % Stands in for MATLAB Statistics Toolbox mahal (not in core Octave): squared
  % Mahalanobis distance of each row of Y from the sample X (MATLAB's QR form).
  m = mean(X, 1);
  [~, R] = qr(X - m, 0);
  ri = R' \ (Y - m)';
  d = sum(ri .* ri, 1)' * (size(X, 1) - 1);
end
